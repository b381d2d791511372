import Identifiers

/// ContactPoint IDs for an initial load, issued without looking the index up (its ID index is
/// built at the end): a keyed pseudo-random permutation of the nine-digit serials — a four-round
/// Feistel network over 30 bits, cycle-walking into range — so no ID repeats within the load and
/// the IDs, like those issued one by one, reveal neither order nor count. Serials without a valid
/// check digit are skipped.
struct InitialLoadIDs: Sendable {
    private let keys: [UInt64]
    private var counter: UInt64 = 0
    /// Serials run from 100,000,000 to 999,999,999, so IDs never start with a zero.
    private static let first: UInt64 = 100_000_000
    private static let count: UInt64 = 900_000_000

    init(keys: [UInt64] = (0..<4).map { _ in UInt64.random(in: .min ... .max) }) {
        self.keys = keys
    }

    mutating func next() -> Int64 {
        while true {
            precondition(counter < Self.count, "an initial load issues at most 900 million IDs")
            var value = permute(counter)
            // Cycle-walk: the network permutes [0, 2³⁰); walking until in range keeps a permutation of [0, count).
            while value >= Self.count { value = permute(value) }
            counter += 1
            if let id = ContactPointID(serial: Int(Self.first + value)) { return Int64(id.digits)! }
        }
    }

    /// The network; its round function is SplitMix64's (keyed by xor), with full avalanche.
    private func permute(_ value: UInt64) -> UInt64 {
        var left = value >> 15
        var right = value & 0x7FFF
        for key in keys {
            (left, right) = (right, left ^ (SplitMix64.mix((right ^ key) &+ 0x9E37_79B9_7F4A_7C15) & 0x7FFF))
        }
        return left << 15 | right
    }
}

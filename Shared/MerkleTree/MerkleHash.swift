import SecurityPrimitives

/// RFC 6962 / RFC 9162 tree hashing with SHA-256: a leaf is `SHA-256(0x00 ‖ data)`, an inner
/// node `SHA-256(0x01 ‖ left ‖ right)`, the empty tree `SHA-256("")`.
public enum MerkleHash {
    public static let size = 32

    public static func leaf(_ data: [UInt8]) -> [UInt8] {
        SHA256.hash([0x00] + data)
    }

    public static func node(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var message = [UInt8](repeating: 0x01, count: 1)
        message.reserveCapacity(1 + 2 * size)
        message += left
        message += right
        return SHA256.hash(message)
    }

    public static let emptyTree: [UInt8] = SHA256.hash([])

    /// The largest power of two strictly less than `n` (n ≥ 2): where RFC 6962 splits a tree.
    static func split(_ n: UInt64) -> UInt64 {
        precondition(n >= 2)
        return UInt64(1) << (63 - (n - 1).leadingZeroBitCount)
    }
}

/// Where proofs get their hashes: the hash of the perfect subtree of `2^level` leaves that
/// starts at leaf `index << level` (level 0 is a leaf hash). A stored tree answers from its
/// table of completed nodes; a proof of a tree of n leaves asks O(log n) of them.
public protocol MerkleSubtreeSource {
    func subtreeHash(level: Int, index: UInt64) throws -> [UInt8]
}

public enum MerkleProofError: Error, Equatable, CustomStringConvertible {
    case leafOutOfRange(leaf: UInt64, size: UInt64)
    case sizesOutOfOrder(first: UInt64, second: UInt64)

    public var description: String {
        switch self {
        case .leafOutOfRange(let leaf, let size): "leaf \(leaf) is not in a tree of size \(size)"
        case .sizesOutOfOrder(let first, let second):
            "no consistency proof from size \(first) to the smaller size \(second)"
        }
    }
}

/// Proof construction of RFC 6962 §2.1.1 (PATH) and §2.1.2 (PROOF / SUBPROOF).
extension MerkleSubtreeSource {
    /// MTH of the leaves `[start, end)`, where `start` is aligned as in RFC 6962's splits.
    public func rootHash(from start: UInt64 = 0, to end: UInt64) throws -> [UInt8] {
        let count = end - start
        if count == 0 { return MerkleHash.emptyTree }
        if count & (count - 1) == 0 {
            let level = count.trailingZeroBitCount
            return try subtreeHash(level: level, index: start >> level)
        }
        let k = MerkleHash.split(count)
        return MerkleHash.node(try rootHash(from: start, to: start + k), try rootHash(from: start + k, to: end))
    }

    /// The audit path of leaf `leaf` in the tree of the first `size` leaves, leaf side first.
    public func inclusionProof(leaf: UInt64, size: UInt64) throws -> [[UInt8]] {
        guard leaf < size else { throw MerkleProofError.leafOutOfRange(leaf: leaf, size: size) }
        var path: [[UInt8]] = []
        try appendPath(leaf: leaf, start: 0, end: size, into: &path)
        return path
    }

    /// The proof that the tree of `first` leaves is a prefix of the tree of `second` leaves.
    /// Empty when `first` is 0 or equals `second`.
    public func consistencyProof(first: UInt64, second: UInt64) throws -> [[UInt8]] {
        guard first <= second else { throw MerkleProofError.sizesOutOfOrder(first: first, second: second) }
        var proof: [[UInt8]] = []
        if first > 0, first < second {
            try appendSubproof(first: first, start: 0, end: second, complete: true, into: &proof)
        }
        return proof
    }

    private func appendPath(leaf: UInt64, start: UInt64, end: UInt64, into path: inout [[UInt8]]) throws {
        let count = end - start
        guard count > 1 else { return }
        let k = MerkleHash.split(count)
        if leaf < k {
            try appendPath(leaf: leaf, start: start, end: start + k, into: &path)
            path.append(try rootHash(from: start + k, to: end))
        } else {
            try appendPath(leaf: leaf - k, start: start + k, end: end, into: &path)
            path.append(try rootHash(from: start, to: start + k))
        }
    }

    private func appendSubproof(first: UInt64, start: UInt64, end: UInt64, complete: Bool, into proof: inout [[UInt8]])
        throws
    {
        let count = end - start
        if first == count {
            if !complete { proof.append(try rootHash(from: start, to: end)) }
            return
        }
        let k = MerkleHash.split(count)
        if first <= k {
            try appendSubproof(first: first, start: start, end: start + k, complete: complete, into: &proof)
            proof.append(try rootHash(from: start + k, to: end))
        } else {
            try appendSubproof(first: first - k, start: start + k, end: end, complete: false, into: &proof)
            proof.append(try rootHash(from: start, to: start + k))
        }
    }
}

/// A tree held in memory with every perfect subtree's hash (about 2n hashes): for tests, and for
/// checking a stored tree against a recomputation.
public struct InMemoryMerkleTree: MerkleSubtreeSource, Sendable {
    /// `levels[l][i]`: the hash of the `i`-th perfect subtree of `2^l` leaves.
    private var levels: [[[UInt8]]] = []

    public init(leaves: [[UInt8]] = []) {
        for leaf in leaves { append(leafHash: MerkleHash.leaf(leaf)) }
    }

    public mutating func append(leafHash: [UInt8]) {
        var hash = leafHash
        var level = 0
        while true {
            if levels.count == level { levels.append([]) }
            levels[level].append(hash)
            let count = levels[level].count
            guard count % 2 == 0 else { return }
            hash = MerkleHash.node(levels[level][count - 2], levels[level][count - 1])
            level += 1
        }
    }

    public var size: UInt64 { UInt64(levels.first?.count ?? 0) }

    public func subtreeHash(level: Int, index: UInt64) throws -> [UInt8] {
        guard level < levels.count, index < levels[level].count else {
            throw MerkleProofError.leafOutOfRange(leaf: index << level, size: size)
        }
        return levels[level][Int(index)]
    }
}

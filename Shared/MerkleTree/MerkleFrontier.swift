/// The right edge of an append-only Merkle tree: the roots of its perfect subtrees, largest
/// first (one per set bit of `size`). Enough to append a leaf and to compute the root, in
/// O(log n) memory, however large the tree.
public struct MerkleFrontier: Sendable, Equatable {
    /// A perfect subtree of `2^level` leaves, the `index`-th of its level, completed by an append.
    public struct Node: Sendable, Equatable {
        public var level: Int
        public var index: UInt64
        public var hash: [UInt8]
    }

    public private(set) var size: UInt64
    public private(set) var hashes: [[UInt8]]

    public init() {
        size = 0
        hashes = []
    }

    /// A frontier from stored subtree hashes: for each set bit of `size`, largest first, the
    /// perfect subtree that bit stands for (as `subtreeHash(level, index)` answers).
    public init(size: UInt64, subtreeHash: (_ level: Int, _ index: UInt64) throws -> [UInt8]) rethrows {
        self.size = size
        hashes = []
        var start: UInt64 = 0
        for level in stride(from: 63, through: 0, by: -1) where size & (UInt64(1) << level) != 0 {
            hashes.append(try subtreeHash(level, start >> level))
            start += UInt64(1) << level
        }
    }

    /// Appends a leaf hash; returns the inner nodes it completed (level ≥ 1), lowest first.
    @discardableResult
    public mutating func append(leafHash: [UInt8]) -> [Node] {
        var completed: [Node] = []
        var hash = leafHash
        var index = size
        var level = 0
        while index & 1 == 1 {
            hash = MerkleHash.node(hashes.removeLast(), hash)
            index >>= 1
            level += 1
            completed.append(Node(level: level, index: index, hash: hash))
        }
        hashes.append(hash)
        size += 1
        return completed
    }

    /// The tree head's root hash (RFC 6962 MTH) for the current size.
    public var root: [UInt8] {
        guard var root = hashes.last else { return MerkleHash.emptyTree }
        for hash in hashes.dropLast().reversed() { root = MerkleHash.node(hash, root) }
        return root
    }
}

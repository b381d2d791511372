/// Proof verification of RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency): what a
/// holder of a signed tree head runs to check the log without trusting it.
public enum MerkleVerification {
    public static func isValidInclusion(
        leafHash: [UInt8], leaf: UInt64, size: UInt64, proof: [[UInt8]], root: [UInt8]
    ) -> Bool {
        guard leaf < size else { return false }
        var fn = leaf
        var sn = size - 1
        var hash = leafHash
        for sibling in proof {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                hash = MerkleHash.node(sibling, hash)
                while fn & 1 == 0, fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                hash = MerkleHash.node(hash, sibling)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && hash == root
    }

    public static func isValidConsistency(
        first: UInt64, firstRoot: [UInt8], second: UInt64, secondRoot: [UInt8], proof: [[UInt8]]
    ) -> Bool {
        guard first <= second else { return false }
        if first == second { return proof.isEmpty && firstRoot == secondRoot }
        if first == 0 { return proof.isEmpty && firstRoot == MerkleHash.emptyTree }
        guard !proof.isEmpty else { return false }
        var path = proof
        if first & (first - 1) == 0 { path.insert(firstRoot, at: 0) }
        var fn = first - 1
        var sn = second - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var firstHash = path[0]
        var secondHash = path[0]
        for node in path.dropFirst() {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                firstHash = MerkleHash.node(node, firstHash)
                secondHash = MerkleHash.node(node, secondHash)
                while fn & 1 == 0, fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                secondHash = MerkleHash.node(secondHash, node)
            }
            fn >>= 1
            sn >>= 1
        }
        return firstHash == firstRoot && secondHash == secondRoot && sn == 0
    }
}

import Foundation
import MerkleTree
import SecurityPrimitives
import Testing

/// ../shared/testdata/rfc6962-merkle.txt: roots, inclusion and consistency proofs of the tree of
/// RFC 6962's eight test leaves.
private enum Vectors {
    static let leaves: [[UInt8]] = [
        "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
    ]
    .map { [UInt8](hex: $0)! }

    static let lines: [[String]] = {
        let directory =
            ProcessInfo.processInfo.environment["CONTACTPOINT_TESTDATA"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/testdata").path
        let text = (try? String(contentsOfFile: "\(directory)/rfc6962-merkle.txt", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map {
            $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        }
    }()

    static func number(_ field: String) -> UInt64 { UInt64(field.split(separator: "=").last!)! }
    static func hashes(_ field: String) -> [[UInt8]] {
        field.isEmpty ? [] : field.split(separator: ",").map { [UInt8](hex: $0)! }
    }
}

@Suite("RFC 6962 Merkle tree")
struct MerkleTreeTests {
    @Test("every root, inclusion and consistency vector: built and verified")
    func publishedVectors() throws {
        #expect(Vectors.lines.count == 73)
        var checked = (roots: 0, inclusions: 0, consistencies: 0)
        for line in Vectors.lines {
            switch line[0] {
            case "root":
                let size = Int(line[1])!
                var frontier = MerkleFrontier()
                for leaf in Vectors.leaves.prefix(size) { frontier.append(leafHash: MerkleHash.leaf(leaf)) }
                #expect(frontier.root.hexString == line[2], "root of \(size)")
                #expect(
                    try InMemoryMerkleTree(leaves: Array(Vectors.leaves.prefix(size))).rootHash(to: UInt64(size))
                        .hexString == line[2])
                checked.roots += 1
            case "inclusion":
                let (leaf, size, expected) = (Vectors.number(line[1]), Vectors.number(line[2]), Vectors.hashes(line[3]))
                let tree = InMemoryMerkleTree(leaves: Array(Vectors.leaves.prefix(Int(size))))
                #expect(try tree.inclusionProof(leaf: leaf, size: size) == expected, "inclusion \(leaf) in \(size)")
                #expect(
                    MerkleVerification.isValidInclusion(
                        leafHash: MerkleHash.leaf(Vectors.leaves[Int(leaf)]), leaf: leaf, size: size, proof: expected,
                        root: try tree.rootHash(to: size)))
                checked.inclusions += 1
            case "consistency":
                let (first, second, expected) = (
                    Vectors.number(line[1]), Vectors.number(line[2]), Vectors.hashes(line[3])
                )
                let tree = InMemoryMerkleTree(leaves: Array(Vectors.leaves.prefix(Int(second))))
                #expect(
                    try tree.consistencyProof(first: first, second: second) == expected,
                    "consistency \(first) → \(second)")
                #expect(
                    MerkleVerification.isValidConsistency(
                        first: first, firstRoot: try tree.rootHash(to: first), second: second,
                        secondRoot: try tree.rootHash(to: second), proof: expected))
                checked.consistencies += 1
            default:
                Issue.record("unknown vector line \(line)")
            }
        }
        #expect(checked.roots == 9 && checked.inclusions == 36 && checked.consistencies == 28)
    }

    @Test(
        """
        proofs in every tree up to 300 leaves verify; flipping any bit of a proof fails (all up to 32 leaves, \
        sampled beyond)
        """
    )
    func proofsVerifyAndMutationsFail() throws {
        let leaves = (0..<300).map { Array("event \($0)".utf8) }
        let tree = InMemoryMerkleTree(leaves: leaves)
        var frontier = MerkleFrontier()
        var roots: [[UInt8]] = [MerkleHash.emptyTree]
        for leaf in leaves {
            frontier.append(leafHash: MerkleHash.leaf(leaf))
            roots.append(frontier.root)
        }
        for size in UInt64(1)...300 {
            let root = roots[Int(size)]
            #expect(try tree.rootHash(to: size) == root)
            // Up to 32 leaves: every proof, every byte. Beyond: about 20 proofs per size (the last
            // leaf and the last prefix always among them), every 7th byte of every 4th proof.
            let exhaustive = size <= 32
            let step = exhaustive ? 1 : max(1, size / 20)
            for leaf in Array(stride(from: 0, to: size, by: Int(step))) + [size - 1] {
                let proof = try tree.inclusionProof(leaf: leaf, size: size)
                let leafHash = MerkleHash.leaf(leaves[Int(leaf)])
                #expect(
                    MerkleVerification.isValidInclusion(
                        leafHash: leafHash, leaf: leaf, size: size, proof: proof, root: root))
                guard exhaustive || (leaf / step) % 4 == 0 else { continue }
                for mutated in Self.singleBitMutations(of: proof, every: exhaustive ? 1 : 7) {
                    #expect(
                        !MerkleVerification.isValidInclusion(
                            leafHash: leafHash, leaf: leaf, size: size, proof: mutated, root: root))
                }
                if size > 1 {
                    #expect(
                        !MerkleVerification.isValidInclusion(
                            leafHash: leafHash, leaf: (leaf + 1) % size, size: size, proof: proof, root: root))
                }
            }
            for first in Array(stride(from: 1, to: size, by: Int(step))) + [size - 1] where first > 0 {
                let proof = try tree.consistencyProof(first: first, second: size)
                let firstRoot = roots[Int(first)]
                #expect(
                    MerkleVerification.isValidConsistency(
                        first: first, firstRoot: firstRoot, second: size, secondRoot: root, proof: proof),
                    "consistency \(first) → \(size)")
                guard exhaustive || (first / step) % 4 == 0 else { continue }
                for mutated in Self.singleBitMutations(of: proof, every: exhaustive ? 1 : 7) {
                    #expect(
                        !MerkleVerification.isValidConsistency(
                            first: first, firstRoot: firstRoot, second: size, secondRoot: root, proof: mutated))
                }
            }
        }
    }

    @Test("a frontier rebuilt from stored subtree hashes continues the same tree")
    func frontierFromSubtrees() throws {
        let leaves = (0..<77).map { Array("leaf \($0)".utf8) }
        let tree = InMemoryMerkleTree(leaves: leaves)
        var rebuilt = try MerkleFrontier(size: 50) { level, index in try tree.subtreeHash(level: level, index: index) }
        #expect(rebuilt.root == (try tree.rootHash(to: 50)))
        for leaf in leaves[50...] { rebuilt.append(leafHash: MerkleHash.leaf(leaf)) }
        #expect(rebuilt.root == (try tree.rootHash(to: 77)))
    }

    @Test("the nodes an append completes are the tree's perfect subtrees")
    func completedNodes() throws {
        let leaves = (0..<16).map { [UInt8($0)] }
        let tree = InMemoryMerkleTree(leaves: leaves)
        var frontier = MerkleFrontier()
        var completed: [MerkleFrontier.Node] = []
        for leaf in leaves { completed += frontier.append(leafHash: MerkleHash.leaf(leaf)) }
        #expect(completed.count == 15)
        for node in completed { #expect(node.hash == (try tree.subtreeHash(level: node.level, index: node.index))) }
    }

    @Test("proofs out of range are errors, not wrong answers")
    func outOfRange() throws {
        let tree = InMemoryMerkleTree(leaves: [[1], [2]])
        #expect(throws: MerkleProofError.leafOutOfRange(leaf: 2, size: 2)) { try tree.inclusionProof(leaf: 2, size: 2) }
        #expect(throws: MerkleProofError.sizesOutOfOrder(first: 2, second: 1)) {
            try tree.consistencyProof(first: 2, second: 1)
        }
        #expect(try tree.consistencyProof(first: 2, second: 2).isEmpty)
        #expect(
            !MerkleVerification.isValidConsistency(
                first: 1, firstRoot: MerkleHash.leaf([1]), second: 2, secondRoot: try tree.rootHash(to: 2), proof: []))
    }

    /// Copies of `proof`, each with one bit flipped in one byte (every `every`-th byte), plus the
    /// proof shortened and lengthened.
    static func singleBitMutations(of proof: [[UInt8]], every: Int) -> [[[UInt8]]] {
        var mutations: [[[UInt8]]] = []
        for (i, hash) in proof.enumerated() {
            for byte in stride(from: 0, to: hash.count, by: every) {
                var copy = proof
                copy[i][byte] ^= UInt8(1) << (byte % 8)
                mutations.append(copy)
            }
        }
        if !proof.isEmpty { mutations.append(Array(proof.dropLast())) }
        mutations.append(proof + [MerkleHash.emptyTree])
        return mutations
    }
}

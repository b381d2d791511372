import Foundation
import MerkleTree
public import SecurityPrimitives

/// What a holder of checkpoints — copied off the audit host, or saved by earlier runs — checks
/// against the live log, without access to its database: the live head is signed by the key, and
/// the log it commits to extends the newest checkpoint held (a consistency proof). When all holds,
/// the live head is saved beside the others, so each run proves the log from where the last one
/// left off; by induction no checkpoint ever held has been rewritten.
public enum LogMonitor {
    /// Problems found, each a sentence; none means the live log extends what is held (and the
    /// live head has been saved in `held`).
    public static func check(
        live: Checkpoint, held: CheckpointDirectory, publicKey: Ed25519.PublicKey,
        consistencyProof: (_ first: UInt64, _ second: UInt64) async throws -> [[UInt8]]
    ) async throws -> [String] {
        var problems: [String] = []
        let files = try held.checkpoints()
        problems += files.unreadable.map { "checkpoint file \($0) is not a checkpoint" }
        problems += files.valid.filter { !$0.isSigned(by: publicKey) }.map {
            "checkpoint \($0.fileName): bad signature"
        }
        guard live.isSigned(by: publicKey) else {
            return problems + ["the live tree head (size \(live.size)) is not signed by this key"]
        }
        if let newest = files.valid.max(by: { $0.size < $1.size }) {
            if newest.size > live.size {
                problems.append(
                    "the live log (size \(live.size)) is smaller than checkpoint \(newest.size): events were removed")
            } else if newest.timestampMS > live.timestampMS {
                problems.append("the live tree head is older than checkpoint \(newest.size)")
            } else {
                let proof = newest.size == live.size ? [] : try await consistencyProof(newest.size, live.size)
                if !MerkleVerification.isValidConsistency(
                    first: newest.size, firstRoot: newest.rootHash, second: live.size, secondRoot: live.rootHash,
                    proof: proof)
                {
                    problems.append("the live log does not extend checkpoint \(newest.size): it was rewritten")
                }
            }
        }
        if problems.isEmpty { try held.export(live) }
        return problems
    }
}

import ContactPointAPI
import Foundation
import SecurityPrimitives
import Testing

@testable import Audit

/// `contactpoint audit monitor`'s check: a holder of checkpoints proves the live log extends them.
@Suite("Audit monitor", .timeLimit(.minutes(1)))
struct MonitorTests {
    @Test(
        """
        a growing log extends the checkpoints held; a rewritten, shrunk or foreign-signed head is reported and \
        not saved
        """
    )
    func monitor() async throws {
        let fixture = try AuditFixture()
        let held = CheckpointDirectory(path: "\(fixture.directory)/held")
        try FileManager.default.createDirectory(atPath: held.path, withIntermediateDirectories: true)
        let key = fixture.signer.key
        let proofs: @Sendable (UInt64, UInt64) async throws -> [[UInt8]] = {
            try await fixture.store.consistencyProof(first: $0, second: $1)
        }

        let heads = try await fixture.run { audit in
            var heads: [Checkpoint] = []
            for batch in [3, 9] {
                _ = try await audit.append(.with { $0.events = (0..<batch).map { _ in fixture.view() } })
                fixture.advance(by: 1000)
                heads.append(try #require(await fixture.signer.signIfGrown()))
                #expect(
                    try await LogMonitor.check(
                        live: heads.last!, held: held, publicKey: key.privateKey.publicKey, consistencyProof: proofs
                    ).isEmpty)
            }
            _ = try await audit.append(.with { $0.events = (0..<3).map { _ in fixture.view() } })
            return heads
        }
        #expect(try held.checkpoints().valid.map(\.size) == [3, 12])

        // Someone with the signing key rewrites history: a head of size 15 whose root does not extend 12
        let rewritten = try key.sign(
            size: 15, rootHash: [UInt8](repeating: 9, count: 32), timestampMS: fixture.clock + 1000)
        let problems = try await LogMonitor.check(
            live: rewritten, held: held, publicKey: key.privateKey.publicKey, consistencyProof: proofs)
        #expect(problems.contains { $0.contains("does not extend checkpoint 12") }, "\(problems)")

        let shrunk = try key.sign(size: 2, rootHash: heads[0].rootHash, timestampMS: fixture.clock + 2000)
        #expect(
            try await LogMonitor.check(
                live: shrunk, held: held, publicKey: key.privateKey.publicKey, consistencyProof: proofs
            )
            .contains { $0.contains("events were removed") })

        let foreign = try TreeHeadKey(privateKey: .generate()).sign(
            size: 15, rootHash: heads[1].rootHash, timestampMS: fixture.clock + 3000)
        #expect(
            try await LogMonitor.check(
                live: foreign, held: held, publicKey: key.privateKey.publicKey, consistencyProof: proofs
            )
            .contains { $0.contains("not signed by this key") })
        #expect(try held.checkpoints().valid.map(\.size) == [3, 12], "nothing that failed was saved")
    }
}

import ContactPointAPI
import Foundation
import GRPCCore
import MerkleTree
import Testing

@testable import Audit

@Suite("Audit log: appends, proofs, signed heads", .timeLimit(.minutes(1)))
struct LogTests {
    @Test("events get consecutive leaves; an event id sent again is stored once and answered with its first leaf")
    func idempotentAppend() async throws {
        let fixture = try AuditFixture()
        let (first, again) = try await fixture.run { audit in
            let events = (0..<3).map { _ in fixture.view() }
            let first = try await audit.append(.with { $0.events = events })
            let again = try await audit.append(.with { $0.events = [events[1], fixture.view()] })
            return (first, again)
        }
        #expect(first.receipts.map(\.leafIndex) == [0, 1, 2])
        #expect(first.receipts.allSatisfy { !$0.duplicate })
        #expect(again.receipts.map(\.leafIndex) == [1, 3])
        #expect(again.receipts.map(\.duplicate) == [true, false])
        #expect(try await fixture.eventCount() == 4)
    }

    @Test("a bad field is INVALID_ARGUMENT naming it, and no event of that call is logged")
    func validation() async throws {
        let fixture = try AuditFixture()
        let cases: [(String, @Sendable (inout Contactpoint_V1_AuditEvent) -> Void)] = [
            ("events[1].child_ids[0]", { $0.childIds = ["1234567890"] }),
            ("events[1].event_id", { $0.eventID = "" }),
            ("events[1].action", { $0.action = "View Record" }),
            ("events[1].category", { $0.category = .unspecified }),
            ("events[1].outcome", { $0.outcome = .unspecified }),
            ("events[1].occurred_at_ms", { $0.occurredAtMs += 3_600_000 }),
            ("events[1].reason_text", { $0.reasonText = "line one\nline two" }),
            ("events[1].reason_text", { $0.reasonText = String(repeating: "x", count: 201) }),
            ("events[1].actor.session_hash", { $0.actor.sessionHash = "the-token-itself" }),
            ("events[1].disclosed_fields[0]", { $0.disclosedFields = ["date of birth"] }),
        ]
        try await fixture.run { audit in
            for (field, corrupt) in cases {
                var bad = fixture.view()
                corrupt(&bad)
                let error = await #expect(throws: RPCError.self) {
                    try await audit.append(.with { $0.events = [fixture.view(), bad] })
                }
                #expect(error?.code == .invalidArgument)
                #expect(error?.message.hasPrefix("\(field):") == true, "\(error?.message ?? "")")
            }
            let empty = await #expect(throws: RPCError.self) { try await audit.append(.init()) }
            #expect(empty?.code == .invalidArgument)
        }
        #expect(try await fixture.eventCount() == 0)
    }

    @Test("only the configured sender principals may append")
    func sendersOnly() async throws {
        let fixture = try AuditFixture()
        let service = AuditRPCService(
            log: fixture.log, senders: ["index"], instance: "audit-test",
            signingKey: fixture.signer.key.privateKey.publicKey, suspendAccount: { _ in }, childShielded: { _ in false }
        )
        let context = ServerContext(
            descriptor: Contactpoint_V1_Audit.Method.Append.descriptor, remotePeer: "ops-console", localPeer: "audit",
            cancellation: .init())
        let error = await #expect(throws: RPCError.self) {
            try await service.append(request: .with { $0.events = [fixture.view()] }, context: context)
        }
        #expect(error?.code == .permissionDenied)
        #expect(try await fixture.eventCount() == 0)
    }

    @Test("concurrent appends are grouped into few transactions, each answered only after commit, with distinct leaves")
    func groupCommit() async throws {
        let fixture = try AuditFixture()
        let leaves = try await fixture.run { audit in
            try await withThrowingTaskGroup(of: [UInt64].self) { group in
                for _ in 0..<64 {
                    group.addTask {
                        try await audit.append(.with { $0.events = (0..<5).map { _ in fixture.view() } }).receipts.map(
                            \.leafIndex)
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        }
        #expect(Set(leaves) == Set(0..<320))
        let heads = await fixture.signer.signIfGrown()
        #expect(heads?.size == 320)
        let report = try AuditVerifier.verify(
            database: "\(fixture.directory)/audit.sqlite", checkpointDirectory: "\(fixture.directory)/checkpoints",
            publicKey: fixture.signer.key.privateKey.publicKey)
        #expect(report.isIntact, "\(report.problems)")
    }

    @Test("inclusion proofs of every event and consistency proofs between every pair of signed heads verify")
    func proofs() async throws {
        let fixture = try AuditFixture()
        try await fixture.run { audit in
            let session = try fixture.session()
            let missing = await #expect(throws: RPCError.self) { try await audit.treeHead(.init(), metadata: session) }
            #expect(missing?.code == .notFound)
            var ids: [String] = []
            var heads: [Contactpoint_V1_SignedTreeHead] = []
            for batch in [1, 2, 5, 8, 13] {
                let events = (0..<batch).map { _ in fixture.view() }
                ids += events.map(\.eventID)
                _ = try await audit.append(.with { $0.events = events })
                fixture.advance(by: 1)
                _ = await fixture.signer.signIfGrown()
                heads.append(try await audit.treeHead(.init(), metadata: session))
            }
            #expect(heads.map(\.size) == [1, 3, 8, 16, 29])
            #expect(zip(heads, heads.dropFirst()).allSatisfy { $0.timestampMs < $1.timestampMs })
            let publicKey = fixture.signer.key.privateKey.publicKey
            for head in heads {
                #expect(publicKey.isValidSignature(Array(head.signature), for: Array(head.checkpoint.utf8)))
                for (leaf, id) in ids.prefix(Int(head.size)).enumerated() {
                    let proof = try await audit.inclusionProof(
                        .with {
                            $0.eventID = id
                            $0.treeSize = head.size
                        }, metadata: session)
                    #expect(proof.leafIndex == UInt64(leaf))
                    #expect(
                        MerkleVerification.isValidInclusion(
                            leafHash: Array(proof.leafHash), leaf: proof.leafIndex, size: head.size,
                            proof: proof.path.map { Array($0) },
                            root: Array(head.rootHash)))
                }
            }
            for (i, first) in heads.enumerated() {
                for second in heads[i...] {
                    let proof = try await audit.consistencyProof(
                        .with {
                            $0.firstSize = first.size
                            $0.secondSize = second.size
                        }, metadata: session)
                    #expect(
                        MerkleVerification.isValidConsistency(
                            first: first.size, firstRoot: Array(first.rootHash), second: second.size,
                            secondRoot: Array(second.rootHash),
                            proof: proof.path.map { Array($0) }))
                }
            }
            let unsigned = fixture.view()
            _ = try await audit.append(.with { $0.events = [unsigned] })
            let tooNew = await #expect(throws: RPCError.self) {
                try await audit.inclusionProof(.with { $0.eventID = unsigned.eventID }, metadata: session)
            }
            #expect(tooNew?.code == .failedPrecondition)
            let noSession = await #expect(throws: RPCError.self) { try await audit.treeHead(.init()) }
            #expect(noSession?.code == .unauthenticated)
        }
    }

    @Test("the database refuses to update or delete logged rows")
    func appendOnly() async throws {
        let fixture = try AuditFixture()
        _ = try await fixture.run { audit in
            try await audit.append(.with { $0.events = [fixture.view(), fixture.view()] })
        }
        for statement in [
            "UPDATE event SET action = 'index/nothing'", "DELETE FROM event", "DELETE FROM tree_node",
            "UPDATE event_child SET child_id = '0'",
        ] {
            await #expect(throws: (any Error).self, "\(statement)") {
                try await fixture.store.writer.write { db in try db.execute(sql: statement) }
            }
        }
        #expect(try await fixture.eventCount() == 2)
    }
}

import ContactPointAPI
import Foundation
import GRDB
import SecurityPrimitives
import Testing

@testable import Audit

/// Checkpoints are C2SP signed notes (https://c2sp.org/signed-note). The independent check, a
/// verifier written from the specification, runs on a live stack in AuditEndToEndTests.
@Suite("Audit checkpoints as signed notes", .timeLimit(.minutes(1)))
struct SignedNoteTests {
    @Test("key hash, verifier key and signature line as in the published example (golang.org/x/mod sumdb/note)")
    func publishedVector() throws {
        // The example's signer key: PRIVATE+KEY+PeterNeumann+c74f20a3+<base64(0x01 ‖ seed)>
        let encoded = try #require(Data(base64Encoded: "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"))
        let key = try Ed25519.PrivateKey(rawRepresentation: Array(encoded.dropFirst()))
        #expect(
            Checkpoint.verifierKey(of: key.publicKey, name: "PeterNeumann")
                == "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
        let text =
            "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
        let signatureLine = Data(
            Checkpoint.keyHash(of: key.publicKey, name: "PeterNeumann") + (try key.signature(for: Array(text.utf8)))
        ).base64EncodedString()
        #expect(
            signatureLine
                == "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=")
    }

    @Test("a head is served with its note and the verifier key, and the note reads back as the head")
    func servedNote() async throws {
        let fixture = try AuditFixture()
        let publicKey = fixture.signer.key.privateKey.publicKey
        let head = try await fixture.run { audit in
            _ = try await audit.append(.with { $0.events = [fixture.view(), fixture.view()] })
            _ = await fixture.signer.signIfGrown()
            return try await audit.treeHead(.init(), metadata: try fixture.session())
        }
        #expect(head.verifierKey == Checkpoint.verifierKey(of: publicKey))
        #expect(head.keyID == Checkpoint.keyHash(of: publicKey).hexString)
        #expect(head.note.hasPrefix(head.checkpoint + "\n— contactpoint-audit "))
        let note = try #require(Checkpoint(note: head.note))
        #expect(note.size == 2 && note.isSigned(by: publicKey))
        let file = "\(fixture.directory)/checkpoints/\(note.fileName)"
        #expect(try String(contentsOfFile: file, encoding: .utf8) == head.note)
        let keyFile = "\(fixture.directory)/checkpoints/\(TreeHeadKey.publicKeyFileName)"
        #expect(try String(contentsOfFile: keyFile, encoding: .utf8) == head.verifierKey + "\n")
        #expect(try TreeHeadKey.readPublicKey(path: keyFile) == publicKey)
    }

    @Test(
        """
        heads and checkpoints signed before key hashes (key id of their own) still verify; the \
        directory's files are rewritten as signed notes and the database's heads are served as such
        """)
    func upgradeFromLegacyKeyIDs() async throws {
        let fixture = try AuditFixture()
        let key = fixture.signer.key
        let legacyID = Checkpoint.legacyKeyID(of: key.privateKey.publicKey)
        // Given a log whose head was signed by the previous version: its key id in the database,
        // and its checkpoint file and public key file as that version exported them
        try await fixture.run { audit in
            _ = try await audit.append(.with { $0.events = [fixture.view(), fixture.view(), fixture.view()] })
        }
        let head = try #require(
            try await fixture.store.signNewTreeHead(now: fixture.clock) { size, root, timestamp in
                (legacyID, try key.sign(size: size, rootHash: root, timestampMS: timestamp).signature)
            })
        let directory = "\(fixture.directory)/checkpoints"
        let legacyNote = """
            \(Checkpoint.body(size: head.size, rootHash: head.rootHash, timestampMS: head.timestampMS))
            — contactpoint-audit \(legacyID) \(Data(head.signature).base64EncodedString())

            """
        let file = "\(directory)/\(String(format: "%020d", head.size)).checkpoint"
        try legacyNote.write(toFile: file, atomically: true, encoding: .utf8)
        let legacyKeyFile = "\(fixture.directory)/legacy.pub"
        try (key.privateKey.publicKey.rawRepresentation.hexString + "\n").write(
            toFile: legacyKeyFile, atomically: true, encoding: .utf8)

        // A copy held elsewhere in the old shape still reads and verifies, with the old key file too
        let held = try #require(Checkpoint(note: legacyNote))
        let legacyKey = try TreeHeadKey.readPublicKey(path: legacyKeyFile)
        #expect(held.keyID == legacyID && held.isSigned(by: legacyKey))
        let before = try AuditVerifier.verify(
            database: "\(fixture.directory)/audit.sqlite", checkpointDirectory: directory,
            publicKey: key.privateKey.publicKey)
        #expect(before.isIntact, "\(before.problems)")

        // When the new version starts, the directory's file becomes a signed note; the stored head
        // stays as it was signed (the log is append-only) and is served with its key hash
        try fixture.signer.checkpoints.prepare(publicKey: key.privateKey.publicKey)
        let rewritten = try String(contentsOfFile: file, encoding: .utf8)
        #expect(rewritten == Checkpoint(head, signedBy: key.privateKey.publicKey).note)
        #expect(!rewritten.contains(legacyID))
        let served = try await fixture.run { audit in try await audit.treeHead(.init(), metadata: try fixture.session())
        }
        #expect(served.note == rewritten && served.keyID == key.keyID)
        let storedKeyID = try await fixture.store.writer.read {
            try String.fetchOne($0, sql: "SELECT key_id FROM tree_head")
        }
        #expect(storedKeyID == legacyID)
        let report = try AuditVerifier.verify(
            database: "\(fixture.directory)/audit.sqlite", checkpointDirectory: directory,
            publicKey: key.privateKey.publicKey)
        #expect(report.isIntact, "\(report.problems)")
        #expect(report.databaseHeads == 1 && report.checkpointFiles == 1)
    }

    @Test("notes that are not this log's, or are malformed, are not read as checkpoints")
    func malformedNotes() throws {
        let key = Ed25519.PrivateKey.generate()
        let checkpoint = try TreeHeadKey(privateKey: key).sign(
            size: 5, rootHash: Array(repeating: 7, count: 32), timestampMS: 1_000)
        #expect(Checkpoint(note: checkpoint.note) == checkpoint)
        // Another signer's line beside ours is ignored, as C2SP says
        let cosigned = checkpoint.note + "— witness.example AAAAAA==\n"
        #expect(Checkpoint(note: cosigned)?.isSigned(by: key.publicKey) == true)
        for broken in [
            checkpoint.note.replacingOccurrences(of: "\n\n", with: "\n"),
            String(checkpoint.note.dropLast()),
            checkpoint.note.replacingOccurrences(of: "— ", with: "- "),
            checkpoint.note.replacingOccurrences(of: "contactpoint-audit\n", with: "another-log\n"),
            checkpoint.body + "\n— witness.example AAAAAA==\n",
        ] {
            #expect(Checkpoint(note: broken) == nil, "\(broken)")
        }
        let altered = checkpoint.note.replacingOccurrences(of: "\n5\n", with: "\n6\n")
        #expect(Checkpoint(note: altered)?.isSigned(by: key.publicKey) == false)
    }
}

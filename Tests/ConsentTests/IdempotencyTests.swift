import ContactPointAPI
import Foundation
import GRDB
import GRPCCore
import TestSupport
import Testing

@testable import Consent

/// Consent's writes take an idempotency key (docs/PROTOCOL.md §7): a retry after a lost reply
/// records nothing twice and is answered as the first call was.
@Suite("Idempotent consent writes")
struct ConsentIdempotencyTests {
    @Test(
        """
        a consent recorded twice with one key is one consent with one change event; its withdrawal retried with \
        its key is answered as the withdrawal, not refused as a second one
        """
    )
    func recordAndWithdrawOnce() async throws {
        let fixture = try ConsentFixture()
        try await fixture.run { consent in
            var teacher = try fixture.session()
            teacher.addString("consent-1", forKey: "idempotency-key")
            let first = try await consent.recordConsent(ConsentFixture.parentConsent(), metadata: teacher)
            #expect(try await consent.recordConsent(ConsentFixture.parentConsent(), metadata: teacher) == first)
            #expect(try await fixture.changeOutbox().count == 1)

            var withdrawing = try fixture.session()
            withdrawing.addString("withdraw-1", forKey: "idempotency-key")
            let withdrawal = Contactpoint_V1_WithdrawRequest.with { $0.consentID = first.consentID }
            let withdrawn = try await consent.withdraw(withdrawal, metadata: withdrawing)
            #expect(try await consent.withdraw(withdrawal, metadata: withdrawing) == withdrawn)
            #expect(try await fixture.changeOutbox().count == 2)
            // Without the key a second withdrawal is refused, as before.
            let error = await #expect(throws: RPCError.self) {
                try await consent.withdraw(withdrawal, metadata: try fixture.session())
            }
            #expect(error?.code == .failedPrecondition)
        }
    }

    @Test("a consent database made by the previous version gains the table of idempotent writes")
    func upgrade() async throws {
        let directory = try TemporaryDirectory(prefix: "consent")
        let path = "\(directory.path)/consent.sqlite"
        do {
            let queue = try DatabaseQueue(path: path)
            try ConsentStore.migrator.migrate(queue, upTo: "1: consents, overrides, outboxes")
            let hadTable = try await queue.write { db in
                try db.execute(sql: "INSERT INTO audit_outbox (event) VALUES (x'')")
                return try db.tableExists("idempotent_write")
            }
            #expect(!hadTable)
        }
        let store = try ConsentStore.open(path: path)
        let (hasTable, waiting) = try await store.writer.read { db in
            (try db.tableExists("idempotent_write"), try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_outbox"))
        }
        #expect(hasTable && waiting == 1)
    }
}

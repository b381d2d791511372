import ContactPointAPI
import GRPCCore
import Testing

@testable import Consent

@Suite("Consent decisions")
struct DecisionTests {
    @Test(
        """
        no record: denied; a consent: allowed; an override alone: allowed by override; a non-sensitive service: \
        allowed
        """
    )
    func decisionPaths() async throws {
        let fixture = try ConsentFixture()
        try await fixture.run { consent in
            let ask: [Contactpoint_V1_ServiceType] = [.sexualHealth, .camhs, .substanceMisuse, .gpPractice]
            var decisions = try await consent.checkConsent(ConsentFixture.check(ask)).decisions
            #expect(decisions.map(\.serviceType) == ask)
            #expect(decisions.map(\.decision) == [.denied, .denied, .denied, .allowed])

            let teacher = try fixture.session()
            let given = try await consent.recordConsent(
                ConsentFixture.parentConsent([.sexualHealth, .camhs]), metadata: teacher)
            #expect(
                given.kind == .consent && given.status == .active && given.scope == [.camhs, .sexualHealth]
                    && given.recordedBy == "p-school")
            let overridden = try await consent.recordOverride(
                ConsentFixture.override([.camhs, .substanceMisuse]), metadata: try fixture.namedPerson)
            #expect(
                overridden.kind == .override && overridden.justification == .askingWouldIncreaseRisk
                    && overridden.parentNotToldReason == .wouldIncreaseRisk)

            decisions = try await consent.checkConsent(ConsentFixture.check(ask)).decisions
            #expect(decisions.map(\.decision) == [.allowed, .allowed, .allowedByOverride, .allowed])
            // A consent is the basis where there is one, an override otherwise.
            #expect(decisions.map(\.basisConsentID) == [given.consentID, given.consentID, overridden.consentID, ""])
            // Another child is not covered.
            #expect(
                try await consent.checkConsent(ConsentFixture.check(ask, child: ConsentFixture.otherChild)).decisions
                    .map(\.decision)
                    == [.denied, .denied, .denied, .allowed])

            // Withdrawal takes effect at once: CAMHS now rests on the override, sexual health on nothing.
            let withdrawn = try await consent.withdraw(.with { $0.consentID = given.consentID }, metadata: teacher)
            #expect(
                withdrawn.status == .withdrawn && withdrawn.withdrawnBy == "p-school" && withdrawn.withdrawnAtMs > 0)
            decisions = try await consent.checkConsent(ConsentFixture.check(ask)).decisions
            #expect(decisions.map(\.decision) == [.denied, .allowedByOverride, .allowedByOverride, .allowed])
            _ = try await consent.withdraw(
                .with { $0.consentID = overridden.consentID }, metadata: try fixture.namedPerson)
            #expect(
                try await consent.checkConsent(ConsentFixture.check(ask)).decisions.map(\.decision) == [
                    .denied, .denied, .denied, .allowed,
                ])
        }
    }

    @Test("a consent applies through its last day and not after (injected clock); it then reads as expired")
    func expiry() async throws {
        let fixture = try ConsentFixture()
        try await fixture.run { consent in
            let teacher = try fixture.session()
            let given = try await consent.recordConsent(
                ConsentFixture.parentConsent(expiresOn: "2026-12-01"), metadata: teacher)
            let override = try await consent.recordOverride(
                .with {
                    $0.childID = ConsentFixture.child
                    $0.scope = [.mentalHealth]
                    $0.justification = .cannotObtainInTime
                    $0.parentTold = true
                    $0.expiresOn = "2026-11-30"
                }, metadata: try fixture.namedPerson)
            let ask: [Contactpoint_V1_ServiceType] = [.sexualHealth, .mentalHealth]
            fixture.now.update { $0 = ConsentFixture.milliseconds(of: "2026-11-30") }
            #expect(
                try await consent.checkConsent(ConsentFixture.check(ask)).decisions.map(\.decision) == [
                    .allowed, .allowedByOverride,
                ])
            fixture.now.update { $0 = ConsentFixture.milliseconds(of: "2026-12-01") }
            #expect(
                try await consent.checkConsent(ConsentFixture.check(ask)).decisions.map(\.decision) == [
                    .allowed, .denied,
                ])
            fixture.now.update { $0 = ConsentFixture.milliseconds(of: "2026-12-02") }
            #expect(
                try await consent.checkConsent(ConsentFixture.check(ask)).decisions.map(\.decision) == [
                    .denied, .denied,
                ])
            let listed = try await consent.listConsents(
                .with {
                    $0.childID = ConsentFixture.child
                    $0.reason = ConsentFixture.reason
                }, metadata: teacher)
            #expect(listed.consents.map(\.consentID) == [override.consentID, given.consentID])
            #expect(listed.consents.map(\.status) == [.expired, .expired])
        }
    }

    @Test("decisions are for the services' principals only: anyone else is PERMISSION_DENIED")
    func checkersOnly() async throws {
        let fixture = try ConsentFixture()
        try await fixture.run(checkers: ["index"]) { consent in
            let error = await #expect(throws: RPCError.self) {
                try await consent.checkConsent(ConsentFixture.check([.camhs]))
            }
            #expect(error?.code == .permissionDenied)
        }
    }

    @Test("the schema keeps records: no delete, and a withdrawal is the only change, made once")
    func recordsAreKept() async throws {
        let fixture = try ConsentFixture()
        let id = try await fixture.run { consent in
            try await consent.recordConsent(ConsentFixture.parentConsent(), metadata: try fixture.session()).consentID
        }
        try await fixture.store.writer.write { db in
            #expect(throws: (any Error).self) {
                try db.execute(sql: "DELETE FROM consent WHERE id = ?", arguments: [id])
            }
            #expect(throws: (any Error).self) { try db.execute(sql: "DELETE FROM consent_scope") }
            #expect(throws: (any Error).self) {
                try db.execute(sql: "UPDATE consent SET expires_on = '2030-01-01' WHERE id = ?", arguments: [id])
            }
            #expect(throws: (any Error).self) { try db.execute(sql: "UPDATE consent_scope SET service_type = 'camhs'") }
            // A consent without a giver cannot be stored by any path.
            #expect(throws: (any Error).self) {
                try db.execute(
                    sql: """
                        INSERT INTO consent (child_id, kind, given_on, recorded_by, recorded_by_organisation, \
                        recorded_at)
                        VALUES ('\(ConsentFixture.child)', 'consent', '2026-11-01', 'p', 'o', 0)
                        """)
            }
            try db.execute(sql: "UPDATE consent SET withdrawn_by = 'p', withdrawn_at = 1 WHERE id = ?", arguments: [id])
            #expect(throws: (any Error).self) {
                try db.execute(
                    sql: "UPDATE consent SET withdrawn_at = NULL, withdrawn_by = NULL WHERE id = ?", arguments: [id])
            }
        }
    }
}

import ContactPointAPI
import GRPCCore
import Testing

@testable import Consent

@Suite("Consent input")
struct ConsentInputTests {
    @Test("bad input is INVALID_ARGUMENT naming the field, an unknown child or consent NOT_FOUND, and nothing changes")
    func badInput() async throws {
        let fixture = try ConsentFixture()
        try await fixture.run { consent in
            let teacher = try fixture.session()
            func refused(_ code: RPCError.Code, _ field: String, _ request: Contactpoint_V1_RecordConsentRequest) async
            {
                let error = await #expect(throws: RPCError.self) {
                    try await consent.recordConsent(request, metadata: teacher)
                }
                #expect(error?.code == code, "\(field)")
                #expect(error?.message.hasPrefix(field) == true, "\(error?.message ?? "") for \(field)")
            }
            func with(_ change: (inout Contactpoint_V1_RecordConsentRequest) -> Void)
                -> Contactpoint_V1_RecordConsentRequest
            {
                var request = ConsentFixture.parentConsent()
                change(&request)
                return request
            }
            await refused(.notFound, "child_id", with { $0.childID = ConsentFixture.unknownChild })
            await refused(.invalidArgument, "child_id", with { $0.childID = "1234567890" })
            await refused(.invalidArgument, "scope", with { $0.scope = [] })
            await refused(.invalidArgument, "scope[1]", with { $0.scope = [.camhs, .UNRECOGNIZED(99)] })
            await refused(.invalidArgument, "scope[0]", with { $0.scope = [.educationalSetting] })
            await refused(.invalidArgument, "scope[1]", with { $0.scope = [.camhs, .camhs] })
            await refused(.invalidArgument, "giver", with { $0.giver = .unspecified })
            await refused(.invalidArgument, "giver_name.family", with { $0.giverName.family = "" })
            await refused(.invalidArgument, "given_on", with { $0.givenOn = "2026-11-27" })
            await refused(.invalidArgument, "given_on", with { $0.givenOn = "" })
            await refused(.invalidArgument, "given_on", with { $0.givenOn = "2026-02-30" })
            await refused(.invalidArgument, "given_on", with { $0.givenOn = "2015-03-31" })
            await refused(
                .invalidArgument, "capacity_assessed_on",
                with {
                    $0.giver = .child
                    $0.clearGiverName()
                    $0.capacityAssessedOn = "2015-03-31"
                })
            await refused(.invalidArgument, "expires_on", with { $0.expiresOn = "2026-11-25" })
            await refused(.invalidArgument, "capacity_assessed_on", with { $0.capacityAssessedOn = "2026-11-01" })
            await refused(
                .invalidArgument, "capacity_assessed_on",
                with {
                    $0.giver = .child
                    $0.clearGiverName()
                })
            await refused(
                .invalidArgument, "capacity_assessed_on",
                with {
                    $0.giver = .child
                    $0.clearGiverName()
                    $0.capacityAssessedOn = "2026-11-28"
                })
            await refused(
                .invalidArgument, "giver_name",
                with {
                    $0.giver = .child
                    $0.capacityAssessedOn = "2026-11-01"
                })

            let named = try fixture.namedPerson
            for (field, change) in [
                (
                    "justification",
                    { (request: inout Contactpoint_V1_RecordOverrideRequest) in request.justification = .unspecified }
                ),
                ("parent_not_told_reason", { $0.parentNotToldReason = .unspecified }),
                ("parent_not_told_reason", { $0.parentTold = true }),
                ("scope[0]", { $0.scope = [.socialCare] }),
            ] as [(String, (inout Contactpoint_V1_RecordOverrideRequest) -> Void)] {
                var request = ConsentFixture.override()
                change(&request)
                let error = await #expect(throws: RPCError.self) {
                    try await consent.recordOverride(request, metadata: named)
                }
                #expect(
                    error?.code == .invalidArgument && error?.message.hasPrefix(field) == true,
                    "\(field): \(error?.message ?? "")")
            }
            for (code, id) in [(RPCError.Code.invalidArgument, "abc"), (.invalidArgument, ""), (.notFound, "42")] {
                let error = await #expect(throws: RPCError.self) {
                    try await consent.withdraw(.with { $0.consentID = id }, metadata: teacher)
                }
                #expect(error?.code == code)
            }
            #expect(try await fixture.changeOutbox().isEmpty)
            #expect(try await fixture.store.consents(ofChild: ConsentFixture.child, today: "2026-11-26").isEmpty)
            #expect(try await fixture.auditOutbox().isEmpty)

            // A consent the child gives, with the date of their assessment, is accepted.
            let childConsent = try await consent.recordConsent(
                with {
                    $0.giver = .child
                    $0.clearGiverName()
                    $0.capacityAssessedOn = "2026-11-19"
                }, metadata: teacher)
            #expect(
                childConsent.giver == .child && childConsent.capacityAssessedOn == "2026-11-19"
                    && !childConsent.hasGiverName)
        }
    }

    @Test(
        """
        concurrent records and withdrawals leave a consistent state: each withdrawn once, one event per change, \
        decisions as the rows say
        """
    )
    func concurrentChanges() async throws {
        let fixture = try ConsentFixture()
        try await fixture.run { consent in
            let teacher = try fixture.session()
            let first = try await consent.recordConsent(ConsentFixture.parentConsent([.camhs]), metadata: teacher)
            // 16 tasks race to withdraw the same consent while 16 others record new ones.
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for task in 0..<32 {
                    group.addTask {
                        if task % 2 == 0 {
                            do {
                                _ = try await consent.withdraw(
                                    .with { $0.consentID = first.consentID }, metadata: teacher)
                                return "withdrawn"
                            } catch let error as RPCError where error.code == .failedPrecondition {
                                return "already"
                            }
                        }
                        _ = try await consent.recordConsent(
                            ConsentFixture.parentConsent([.substanceMisuse]), metadata: teacher)
                        return "recorded"
                    }
                }
                return try await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
            }
            #expect(outcomes == ["withdrawn": 1, "already": 15, "recorded": 16])
            let changes = try await fixture.changeOutbox()
            #expect(changes.filter { $0.change == "consent-withdrawn" }.map(\.consentID) == [first.consentID])
            #expect(changes.filter { $0.change == "consent-recorded" }.count == 17)
            #expect(Set(changes.map(\.eventID)).count == changes.count)
            #expect(try await fixture.auditOutbox().filter { $0.category == .change }.count == 18)
            let stored = try await fixture.store.consents(ofChild: ConsentFixture.child, today: "2026-11-26")
            #expect(stored.filter { $0.status == .withdrawn }.map(\.consentID) == [first.consentID])
            #expect(stored.filter { $0.status == .active }.count == 16)
            #expect(
                try await consent.checkConsent(ConsentFixture.check([.camhs, .substanceMisuse])).decisions.map(
                    \.decision) == [.denied, .allowed])
        }
    }
}

import ContactPointAPI
import Testing
import Vocabulary

@testable import Audit

/// The services name roles, actions and change kinds from one closed list (``Vocabulary``): every
/// word in it is one the audit log takes, and each reads back from its text.
@Suite struct VocabularyTests {
    @Test("every audit action and every role is taken by the audit log's validation, and reads back from its text")
    func auditLogTakesEveryWord() throws {
        let fixture = try AuditFixture()
        for action in AuditAction.all {
            #expect(AuditAction(action.description) == action)
            #expect(action.description.hasPrefix(action.service + "/"))
            let event = fixture.view {
                $0.action = action.description
                $0.service = action.service
                $0.actor.roles = Role.all.map(\.name)
            }
            #expect(throws: Never.self, "\(action)") {
                try AuditEventValidation.validate([event], nowMS: fixture.clock)
            }
        }
        #expect(Set(AuditAction.all.map(\.description)).count == AuditAction.all.count)
        for role in Role.all { #expect(Role(name: role.name) == role) }
        #expect(Role(name: "administrator") == nil)
        for kind in ChangeKind.all { #expect(ChangeKind(kind.description) == kind) }
        #expect(ChangeKind.indicatorRaised.alertsOthers && !ChangeKind.involvementEnded.alertsOthers)
    }
}

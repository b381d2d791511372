import Authentication
import ContactPointAPI
import Foundation
import GRPCCore
import Testing
import Vocabulary
import ZeroMQ

@testable import Identity

/// Agency gateways registered in the identity service: who may register and revoke them, what is
/// checked, what the brokers are given, and sign-in through a gateway.
@Suite("Agency gateway registry", .timeLimit(.minutes(1)))
struct GatewayRegistryTests {
    @Test("an administrator registers, lists and revokes a gateway of their authority; each change is audited")
    func registerListRevoke() async throws {
        let fixture = try await IdentityFixture.make(roles: [.localAuthorityAdministrator])
        let admin = try await fixture.login()
        let key = try CurveKeyPair.generate().publicKey.z85
        try await IdentityRPCHarness(fixture: fixture).withClients { _, administration in
            let gateway = try await administration.registerGateway(
                .with {
                    $0.organisationID = fixture.organisation.id
                    $0.name = "Hillside MIS bridge"
                    $0.publicKey = key
                    $0.readsAlerts = true
                    $0.actsForPractitioners = true
                }, metadata: bearer(admin))
            #expect(gateway.gatewayID.hasPrefix("gw-") && gateway.revokedAt == 0)
            #expect(gateway.principal == "gateway:\(fixture.organisation.id):\(gateway.gatewayID)")
            #expect(GatewayPrincipal(gateway.principal)?.organisationID == fixture.organisation.id)
            #expect(try await fixture.store.gatewaysInForce().map(\.id) == [gateway.gatewayID])

            // The same key in force twice, a key that is no key, an unknown organisation: refused, nothing stored
            let twice = await #expect(throws: RPCError.self) {
                try await administration.registerGateway(
                    .with {
                        $0.organisationID = fixture.organisation.id
                        $0.name = "again"
                        $0.publicKey = key
                        $0.readsAlerts = true
                    }, metadata: bearer(admin))
            }
            #expect(twice?.code == .alreadyExists && twice?.message.contains("public_key") == true)
            let notAKey = await #expect(throws: RPCError.self) {
                try await administration.registerGateway(
                    .with {
                        $0.organisationID = fixture.organisation.id
                        $0.name = "bad key"
                        $0.publicKey = "not a key"
                    }, metadata: bearer(admin))
            }
            #expect(notAKey?.code == .invalidArgument && notAKey?.message.contains("public_key") == true)
            let nowhere = await #expect(throws: RPCError.self) {
                try await administration.registerGateway(
                    .with {
                        $0.organisationID = "org-nowhere"
                        $0.name = "nowhere"
                        $0.publicKey = try CurveKeyPair.generate().publicKey.z85
                    }, metadata: bearer(admin))
            }
            #expect(nowhere?.code == .invalidArgument)
            let mayNothing = await #expect(throws: RPCError.self) {
                try await administration.registerGateway(
                    .with {
                        $0.organisationID = fixture.organisation.id
                        $0.name = "may do nothing"
                        $0.publicKey = try CurveKeyPair.generate().publicKey.z85
                    }, metadata: bearer(admin))
            }
            #expect(
                mayNothing?.code == .invalidArgument && mayNothing?.message.contains("acts_for_practitioners") == true)
            #expect(try await fixture.store.gateways(localAuthority: nil).count == 1)
            #expect(gateway.readsAlerts && gateway.actsForPractitioners)

            let listed = try await administration.listGateways(.init(), metadata: bearer(admin))
            #expect(listed.gateways.map(\.gatewayID) == [gateway.gatewayID])
            let revoked = try await administration.revokeGateway(
                .with { $0.gatewayID = gateway.gatewayID }, metadata: bearer(admin))
            #expect(revoked.revokedAt > 0 && revoked.revokedBy == fixture.practitioner.id)
            #expect(try await fixture.store.gatewaysInForce().isEmpty)
            // Its key may be registered again, as a new gateway
            let again = try await administration.registerGateway(
                .with {
                    $0.organisationID = fixture.organisation.id
                    $0.name = "Hillside MIS bridge"
                    $0.publicKey = key
                    $0.readsAlerts = true
                    $0.actsForPractitioners = true
                }, metadata: bearer(admin))
            #expect(again.gatewayID != gateway.gatewayID)
        }
        let actions = try await fixture.store.outboxes.undeliveredAuditEvents(limit: 1_000).map(\.event.action)
        #expect(actions.filter { $0 == AuditAction.gatewayRegistered.description }.count == 2)
        #expect(actions.filter { $0 == AuditAction.gatewayRevoked.description }.count == 1)
    }

    @Test("a practitioner may not register a gateway; the refusal is audited")
    func practitionerRefused() async throws {
        let fixture = try await IdentityFixture.make(roles: [.practitioner])
        let session = try await fixture.login()
        try await IdentityRPCHarness(fixture: fixture).withClients { _, administration in
            let refused = await #expect(throws: RPCError.self) {
                try await administration.registerGateway(
                    .with {
                        $0.organisationID = fixture.organisation.id
                        $0.name = "my own bridge"
                        $0.publicKey = try CurveKeyPair.generate().publicKey.z85
                    }, metadata: bearer(session))
            }
            #expect(refused?.code == .permissionDenied)
        }
        #expect(try await fixture.store.gateways(localAuthority: nil).isEmpty)
        let refusals = try await fixture.store.outboxes.undeliveredAuditEvents(limit: 100).map(\.event).filter {
            $0.action == AuditAction.administrationRefused.description
        }
        #expect(refusals.count == 1)
    }

    @Test(
        """
        sign-in through a gateway: its own organisation's practitioners only, through a gateway in force registered to \
        relay sign-in; the session names it
        """
    )
    func signInThroughGateway() async throws {
        let fixture = try await IdentityFixture.make()
        let register = { (id: String, actsForPractitioners: Bool) in
            try await fixture.store.acting(as: "p-admin").registerGateway(
                .init(
                    id: id, organisationID: fixture.organisation.id, name: id,
                    publicKey: try CurveKeyPair.generate().publicKey.z85, readsAlerts: true,
                    actsForPractitioners: actsForPractitioners, registeredAt: fixture.clock.now, registeredBy: "p-admin"
                ))
        }
        try await register("gw-aaaa", true)
        try await register("gw-alerts-only", false)
        let own = GatewayPrincipal(organisationID: fixture.organisation.id, gatewayID: "gw-aaaa")
        let session = try await fixture.authenticator.login(
            email: fixture.practitioner.email, password: fixture.password, code: fixture.code(), through: own)
        #expect(session.claims.gateway == own.description)
        // A refresh keeps it: the renewed token works through the same gateway only
        fixture.clock.advance(by: 31)
        let refreshed = try await fixture.authenticator.refresh(session.claims)
        #expect(refreshed.claims.gateway == own.description)

        fixture.clock.advance(by: 31)
        let other = GatewayPrincipal(organisationID: "org-elsewhere", gatewayID: "gw-bbbb")
        let refused = await #expect(throws: AuthenticationFailure.self) {
            try await fixture.authenticator.login(
                email: fixture.practitioner.email, password: fixture.password, code: fixture.code(), through: other)
        }
        #expect("\(String(describing: refused))".contains("another organisation"))
        let events = try await fixture.store.outboxes.undeliveredAuditEvents(limit: 100).map(\.event).filter {
            $0.action == AuditAction.loginRefused.description
        }
        #expect(events.count == 1 && events.first?.outcomeReason == "another-organisation-s-gateway")

        // A gateway registered to read alerts only, or one revoked, relays no sign-in
        fixture.clock.advance(by: 31)
        let alertsOnly = GatewayPrincipal(organisationID: fixture.organisation.id, gatewayID: "gw-alerts-only")
        let notRelaying = await #expect(throws: AuthenticationFailure.self) {
            try await fixture.authenticator.login(
                email: fixture.practitioner.email, password: fixture.password, code: fixture.code(),
                through: alertsOnly)
        }
        #expect("\(String(describing: notRelaying))".contains("not registered to sign practitioners in"))
        _ = try await fixture.store.acting(as: "p-admin").revokeGateway(id: "gw-aaaa", now: fixture.clock.now)
        // Revoking it ended the session granted through it: every service refuses it at its next look
        await #expect(throws: AuthenticationFailure.self) { try await fixture.authenticator.refresh(refreshed.claims) }
        fixture.clock.advance(by: 31)
        await #expect(throws: AuthenticationFailure.self) {
            try await fixture.authenticator.login(
                email: fixture.practitioner.email, password: fixture.password, code: fixture.code(), through: own)
        }
    }

    @Test("a database of the previous version gains the gateway registry, empty, and registers into it")
    func upgrade() async throws {
        let path = try SecurityNoticeTests.previousVersion(upTo: "6: home postcode at vetting", checkedOn: "2026-01-10")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try IdentityStore.open(path: path)
        #expect(try await store.gatewaysInForce().isEmpty)
        try await store.acting(as: "p-1").registerGateway(
            .init(
                id: "gw-1", organisationID: "org-1", name: "bridge",
                publicKey: try CurveKeyPair.generate().publicKey.z85,
                readsAlerts: true, actsForPractitioners: false, registeredAt: 1_800_000_000, registeredBy: "p-1"))
        #expect(try await store.gatewaysInForce().map(\.organisationID) == ["org-1"])
        #expect(try await store.practitioner(id: "p-1")?.name == "Sam")
    }

    @Test("a gateway's session works through that gateway only; a gateway may use no other session")
    func routeRules() throws {
        let claims = { (gateway: String?) in
            SessionClaims(
                sub: "p-1", gateway: gateway, sid: "s", org: "org-1", la: "E09000033", roles: [], iat: 0, exp: 1,
                stepUpAt: 0)
        }
        let mine = "gateway:org-1:gw-aaaa"
        try AuthenticationInterceptor.requireRoute(of: claims(mine), peer: mine)
        try AuthenticationInterceptor.requireRoute(of: claims(nil), peer: "operator")
        // A service passing a gateway's session on, for its caller
        try AuthenticationInterceptor.requireRoute(of: claims(mine), peer: "index")
        #expect(throws: RPCError.self) {
            try AuthenticationInterceptor.requireRoute(of: claims(mine), peer: "gateway:org-2:gw-bbbb")
        }
        #expect(throws: RPCError.self) { try AuthenticationInterceptor.requireRoute(of: claims(nil), peer: mine) }
    }
}

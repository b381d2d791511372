import ContactPointAPI
import Foundation
import SecurityPrimitives
import Testing
import Vocabulary

@testable import Identity

/// A software authenticator with one Ed25519 credential, speaking what a browser passes on:
/// `clientDataJSON`, authenticator data, a "none" attestation object and assertions.
struct SoftwareAuthenticator {
    let key = Ed25519.PrivateKey.generate()
    let credentialID = SecureRandom.bytes(32)
    var relyingPartyID = "localhost"
    var origin = "https://localhost:8443"
    var signCount: UInt32 = 0

    func clientData(_ type: String, _ challenge: [UInt8], origin: String? = nil) -> [UInt8] {
        Array(
            """
            {"type":"\(type)","challenge":"\(Base64URL.encode(challenge))","origin":"\(origin ?? self.origin)",\
            "crossOrigin":false}
            """.utf8)
    }

    func authenticatorData(flags: UInt8, attested: Bool) -> [UInt8] {
        var data =
            SHA256.hash(Array(relyingPartyID.utf8)) + [flags] + withUnsafeBytes(of: signCount.bigEndian, Array.init)
        if attested {
            // COSE_Key {1: 1 (OKP), 3: -8 (EdDSA), -1: 6 (Ed25519), -2: x}
            let coseKey: [UInt8] =
                [0xa4, 0x01, 0x01, 0x03, 0x27, 0x20, 0x06, 0x21, 0x58, 0x20] + key.publicKey.rawRepresentation
            data += [UInt8](repeating: 0, count: 16) + [0, UInt8(credentialID.count)] + credentialID + coseKey
        }
        return data
    }

    /// `{"fmt": "none", "attStmt": {}, "authData": …}` for `challenge`.
    func registration(_ challenge: [UInt8]) -> (clientDataJSON: [UInt8], attestationObject: [UInt8]) {
        let authData = authenticatorData(flags: 0x45, attested: true)
        let object: [UInt8] =
            [0xa3, 0x63] + Array("fmt".utf8) + [0x64] + Array("none".utf8) + [0x67] + Array("attStmt".utf8) + [0xa0]
            + [0x68] + Array("authData".utf8) + [0x59, UInt8(authData.count >> 8), UInt8(authData.count & 0xff)]
            + authData
        return (clientData("webauthn.create", challenge), object)
    }

    mutating func assertion(_ challenge: [UInt8], origin: String? = nil, advance: Bool = true)
        throws -> (clientDataJSON: [UInt8], authenticatorData: [UInt8], signature: [UInt8])
    {
        if advance { signCount += 1 }
        let clientData = clientData("webauthn.get", challenge, origin: origin)
        let authData = authenticatorData(flags: 0x05, attested: false)
        return (clientData, authData, try key.signature(for: authData + SHA256.hash(clientData)))
    }
}

@Suite("Passkeys at the identity service")
struct PasskeyTests {
    /// The fixture's practitioner with a passkey registered from a fresh login (which is a step-up).
    func registered() async throws -> (IdentityFixture, SoftwareAuthenticator) {
        let fixture = try await IdentityFixture.make()
        let session = try await fixture.login()
        let authenticator = SoftwareAuthenticator()
        let challenge = try await fixture.authenticator.beginPasskeyRegistration(session.claims)
        #expect(challenge.relyingPartyID == "localhost" && challenge.credentialIDs.isEmpty)
        #expect(challenge.userName == fixture.practitioner.email && challenge.userHandle.count == 16)
        let made = authenticator.registration(challenge.challenge)
        let stored = try await fixture.authenticator.completePasskeyRegistration(
            session.claims, challengeID: challenge.id, clientDataJSON: made.clientDataJSON,
            attestationObject: made.attestationObject, name: "work laptop")
        #expect(stored.credentialID == authenticator.credentialID && stored.attestationFormat == "none")
        return (fixture, authenticator)
    }

    func signIn(_ fixture: IdentityFixture, _ authenticator: inout SoftwareAuthenticator, origin: String? = nil)
        async throws -> IssuedSession
    {
        let challenge = try await fixture.authenticator.beginPasskeyLogin(
            email: fixture.practitioner.email, password: fixture.password)
        #expect(challenge.credentialIDs == [authenticator.credentialID])
        let assertion = try authenticator.assertion(challenge.challenge, origin: origin)
        return try await fixture.authenticator.completePasskeyLogin(
            challengeID: challenge.id, credentialID: authenticator.credentialID,
            clientDataJSON: assertion.clientDataJSON, authenticatorData: assertion.authenticatorData,
            signature: assertion.signature)
    }

    @Test("registered after a fresh step-up, a passkey signs in after the password; the practitioner is told")
    func registerAndSignIn() async throws {
        var (fixture, authenticator) = try await registered()
        let session = try await signIn(fixture, &authenticator)
        #expect(session.claims.sub == fixture.practitioner.id)
        let passkeys = try await fixture.store.passkeys(practitionerID: fixture.practitioner.id)
        #expect(passkeys.map(\.signCount) == [1] && passkeys[0].lastUsedAt != nil)
        let audited = try await fixture.store.outboxes.undeliveredAuditEvents(limit: 100).map(\.event.action)
        #expect(audited.contains(AuditAction.passkeyAdded.description))
        let notices = try await fixture.store.outboxes.undeliveredChanges(
            limit: 100, as: Contactpoint_V1_SecurityNotice.self
        ).map(\.event.kind)
        #expect(notices.contains(.passkeyAdded))
    }

    @Test("an assertion is refused when replayed, from another origin, or with a counter gone back")
    func refusals() async throws {
        var (fixture, authenticator) = try await registered()
        // Replayed: the challenge was used
        let challenge = try await fixture.authenticator.beginPasskeyLogin(
            email: fixture.practitioner.email, password: fixture.password)
        let assertion = try authenticator.assertion(challenge.challenge)
        let complete = {
            try await fixture.authenticator.completePasskeyLogin(
                challengeID: challenge.id, credentialID: authenticator.credentialID,
                clientDataJSON: assertion.clientDataJSON, authenticatorData: assertion.authenticatorData,
                signature: assertion.signature)
        }
        _ = try await complete()
        await #expect(throws: AuthenticationFailure.self) { try await complete() }
        // Made on another origin (a look-alike site relaying the sign-in)
        await #expect(throws: AuthenticationFailure.self) {
            try await signIn(fixture, &authenticator, origin: "https://contactpoint.example-login.com")
        }
        // A counter that does not grow: a cloned authenticator
        authenticator.signCount = 0
        await #expect(throws: AuthenticationFailure.self) { try await signIn(fixture, &authenticator) }
        // Each refusal counts as a failed sign-in with the right password
        let record = try #require(try await fixture.store.loginRecord(practitionerID: fixture.practitioner.id))
        #expect(record.failedLogins == 2)
    }

    @Test("a wrong password gets no challenge and counts; without a passkey the code is the way")
    func beginRefusals() async throws {
        let (fixture, _) = try await registered()
        await #expect(throws: AuthenticationFailure.rejected(reason: "wrong password")) {
            try await fixture.authenticator.beginPasskeyLogin(
                email: fixture.practitioner.email, password: "not it at all")
        }
        await #expect(throws: AuthenticationFailure.rejected(reason: "unknown account")) {
            try await fixture.authenticator.beginPasskeyLogin(email: "nobody@example.org", password: fixture.password)
        }
        let other = try await IdentityFixture.make()
        await #expect(throws: AuthenticationFailure.self) {
            try await other.authenticator.beginPasskeyLogin(email: other.practitioner.email, password: other.password)
        }
    }

    @Test("adding or removing a passkey needs a step-up within 5 minutes")
    func stepUpRequired() async throws {
        let (fixture, authenticator) = try await registered()
        fixture.clock.advance(by: 31)
        let session = try await fixture.login()
        fixture.clock.advance(by: 301)
        await #expect(throws: AuthenticationFailure.self) {
            try await fixture.authenticator.beginPasskeyRegistration(session.claims)
        }
        await #expect(throws: AuthenticationFailure.self) {
            try await fixture.authenticator.removePasskey(session.claims, credentialID: authenticator.credentialID)
        }
        let fresh = try await fixture.authenticator.refresh(session.claims, stepUpCode: fixture.code())
        #expect(try await fixture.authenticator.removePasskey(fresh.claims, credentialID: authenticator.credentialID))
        #expect(try await fixture.store.passkeys(practitionerID: fixture.practitioner.id).isEmpty)
    }

    @Test("a registration for another challenge, or named badly, is refused and stores nothing")
    func registrationRefusals() async throws {
        let fixture = try await IdentityFixture.make()
        let session = try await fixture.login()
        let authenticator = SoftwareAuthenticator()
        let challenge = try await fixture.authenticator.beginPasskeyRegistration(session.claims)
        let forOther = authenticator.registration(SecureRandom.bytes(32))
        await #expect(throws: AuthenticationFailure.self) {
            try await fixture.authenticator.completePasskeyRegistration(
                session.claims, challengeID: challenge.id, clientDataJSON: forOther.clientDataJSON,
                attestationObject: forOther.attestationObject, name: "laptop")
        }
        let again = try await fixture.authenticator.beginPasskeyRegistration(session.claims)
        let made = authenticator.registration(again.challenge)
        await #expect(throws: AuthenticationFailure.self) {
            try await fixture.authenticator.completePasskeyRegistration(
                session.claims, challengeID: again.id, clientDataJSON: made.clientDataJSON,
                attestationObject: made.attestationObject, name: "")
        }
        #expect(try await fixture.store.passkeys(practitionerID: fixture.practitioner.id).isEmpty)
    }

    @Test("a database of the previous version gains passkeys, none, and stores one")
    func upgrade() async throws {
        let path = try SecurityNoticeTests.previousVersion(upTo: "7: agency gateways", checkedOn: "2026-01-10")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try IdentityStore.open(path: path)
        #expect(try await store.passkeys(practitionerID: "p-1").isEmpty)
        try await store.addPasskey(
            .init(
                credentialID: [1, 2, 3], practitionerID: "p-1", name: "laptop", publicKey: [0xa0], algorithm: -8,
                signCount: 0, attestationFormat: "none", aaguid: [UInt8](repeating: 0, count: 16),
                backupEligible: false, createdAt: 1_800_000_000))
        #expect(try await store.passkeys(practitionerID: "p-1").map(\.name) == ["laptop"])
        #expect(try await store.practitioner(id: "p-1")?.name == "Sam")
    }
}

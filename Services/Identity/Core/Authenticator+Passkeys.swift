import Authentication
import Foundation
import SecurityPrimitives
import Vocabulary
import WebAuthn

/// Passkeys (WebAuthn) as the second factor: phishing-resistant, since the browser binds each
/// assertion to the portal's origin and the verifier here checks it (docs/SECURITY.md).
extension Authenticator {
    /// How long a challenge may be answered (seconds).
    static let passkeyChallengeLifetime: Int64 = 120
    /// How recent a step-up must be to add or remove a passkey (seconds).
    static let passkeyStepUpWindow: Int64 = 300

    /// What the browser needs to create or use a passkey.
    struct PasskeyChallenge: Sendable {
        var id: String
        var challenge: [UInt8]
        var relyingPartyID: String
        var userHandle: [UInt8] = []
        var userName = ""
        var userDisplayName = ""
        var credentialIDs: [[UInt8]]
        var expiresAt: Int64
    }

    // MARK: Sign-in

    /// First step: the password, checked as `login` checks it (throttling, lockout, one answer for
    /// every failure); then a challenge for the account's passkeys.
    func beginPasskeyLogin(email: String, password: String) async throws -> PasskeyChallenge {
        let now = clock.now.seconds
        let record = try await store.loginRecord(email: email)
        let passwordMatches = passwords.verify(password, against: record?.passwordHash ?? decoyHash)
        let account = try await admit(record, passwordMatches: passwordMatches, secondFactorFailure: nil, now: now)
        try await checkMayStartSession(account, through: nil, now: now)
        let passkeys = try await store.passkeys(practitionerID: account.practitioner.id)
        guard !passkeys.isEmpty else {
            throw AuthenticationFailure.notNow(
                "no passkey is registered for this account: use the code from your authenticator app")
        }
        return try await newChallenge(
            for: account.practitioner.id, purpose: .login, credentialIDs: passkeys.map(\.credentialID), now: now)
    }

    /// Second step: the passkey's assertion for that challenge; a session as `login` gives. A
    /// refused assertion counts as a failed sign-in (and tells the practitioner: the password was
    /// right).
    func completePasskeyLogin(
        challengeID: String, credentialID: [UInt8], clientDataJSON: [UInt8], authenticatorData: [UInt8],
        signature: [UInt8], through gateway: GatewayPrincipal? = nil
    ) async throws -> IssuedSession {
        let now = clock.now.seconds
        guard
            let (practitionerID, challenge) = try await store.takePasskeyChallenge(
                id: challengeID, purpose: .login, now: now),
            let record = try await store.loginRecord(practitionerID: practitionerID)
        else {
            try await events.record(.loginFailed, subject: nil, reason: "passkey challenge unknown or used", now: now)
            throw AuthenticationFailure.rejected(reason: "passkey challenge unknown or used")
        }
        let account = try await admit(record, passwordMatches: true, secondFactorFailure: nil, now: now)
        do {
            guard
                let passkey = try await store.passkeys(practitionerID: practitionerID).first(where: {
                    $0.credentialID == credentialID
                })
            else { throw WebAuthnError.refused("not a passkey of this account") }
            let signCount = try passkeyVerifier.verifyAssertion(
                clientDataJSON: clientDataJSON, authenticatorData: authenticatorData, signature: signature,
                challenge: challenge, publicKey: passkey.publicKey, storedSignCount: passkey.signCount)
            try await store.passkeyUsed(credentialID: credentialID, signCount: signCount, now: now)
        } catch let refusal as WebAuthnError {
            let reason = "\(Self.passkeyRefused): \(refusal)"
            try await recordFailure(of: account.practitioner, reason: reason, now: now)
            throw AuthenticationFailure.rejected(reason: reason)
        }
        try await checkMayStartSession(account, through: gateway, now: now)
        return try await startSession(account, through: gateway, now: now)
    }

    /// The start of the audit reason of a sign-in whose password was right and passkey refused.
    static let passkeyRefused = "passkey refused"

    // MARK: Registration and removal

    /// A challenge to create a passkey, for a practitioner who stepped up in the last 5 minutes.
    func beginPasskeyRegistration(_ claims: SessionClaims) async throws -> PasskeyChallenge {
        let now = clock.now.seconds
        try requireFreshStepUp(claims, now: now)
        guard let record = try await store.loginRecord(practitionerID: claims.sub) else {
            throw AuthenticationFailure.rejected(reason: "unknown account")
        }
        let existing = try await store.passkeys(practitionerID: claims.sub)
        var challenge = try await newChallenge(
            for: claims.sub, purpose: .registration, credentialIDs: existing.map(\.credentialID), now: now)
        // Stable for the account and revealing nothing: authenticators key their credentials by it.
        challenge.userHandle = Array(SHA256.hash(Array("contactpoint-user:\(claims.sub)".utf8)).prefix(16))
        challenge.userName = record.practitioner.email
        challenge.userDisplayName = record.practitioner.name
        return challenge
    }

    /// Verifies and stores the new passkey; the practitioner is told (a security notice).
    func completePasskeyRegistration(
        _ claims: SessionClaims, challengeID: String, clientDataJSON: [UInt8], attestationObject: [UInt8],
        name: String
    ) async throws -> IdentityStore.StoredPasskey {
        let now = clock.now.seconds
        let name = name.trimmingCharacters(in: .whitespaces)
        guard (1...60).contains(name.count),
            !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { throw AuthenticationFailure.invalidRequest("name: 1 to 60 characters, such as \"work laptop\"") }
        guard
            let (practitionerID, challenge) = try await store.takePasskeyChallenge(
                id: challengeID, purpose: .registration, now: now),
            practitionerID == claims.sub
        else {
            throw AuthenticationFailure.invalidRequest("challenge_id: unknown, used or expired: start again")
        }
        let credential: WebAuthnVerifier.RegisteredCredential
        do {
            credential = try passkeyVerifier.verifyRegistration(
                clientDataJSON: clientDataJSON, attestationObject: attestationObject, challenge: challenge)
        } catch {
            throw AuthenticationFailure.invalidRequest("the passkey was not accepted: \(error)")
        }
        let passkey = IdentityStore.StoredPasskey(
            credentialID: credential.credentialID, practitionerID: claims.sub, name: name,
            publicKey: credential.publicKey, algorithm: credential.algorithm.rawValue, signCount: credential.signCount,
            attestationFormat: credential.attestationFormat, aaguid: credential.aaguid,
            backupEligible: credential.backupEligible, createdAt: now)
        try await store.addPasskey(passkey)
        return passkey
    }

    func removePasskey(_ claims: SessionClaims, credentialID: [UInt8]) async throws -> Bool {
        let now = clock.now.seconds
        try requireFreshStepUp(claims, now: now)
        return try await store.removePasskey(practitionerID: claims.sub, credentialID: credentialID, now: now)
    }

    private func requireFreshStepUp(_ claims: SessionClaims, now: Int64) throws {
        guard now - claims.stepUpAt <= Self.passkeyStepUpWindow else {
            throw AuthenticationFailure.notNow(
                "confirm it is you first: give a code from your authenticator app (step up), then try again")
        }
    }

    private func newChallenge(
        for practitionerID: String, purpose: IdentityStore.ChallengePurpose, credentialIDs: [[UInt8]], now: Int64
    ) async throws -> PasskeyChallenge {
        let challenge = PasskeyChallenge(
            id: Base64URL.encode(SecureRandom.bytes(18)), challenge: SecureRandom.bytes(32),
            relyingPartyID: passkeyVerifier.relyingPartyID, credentialIDs: credentialIDs,
            expiresAt: now + Self.passkeyChallengeLifetime)
        try await store.createPasskeyChallenge(
            id: challenge.id, practitionerID: practitionerID, purpose: purpose, challenge: challenge.challenge,
            expiresAt: challenge.expiresAt, now: now)
        return challenge
    }
}

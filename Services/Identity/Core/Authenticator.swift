import Authentication
import Foundation
import SecurityPrimitives
import Timekeeping
import Vocabulary
import WebAuthn

/// The rules of identity: who may enrol, log in, keep a session and step up.
struct IdentityPolicy: Sendable {
    /// Consecutive failed logins that lock an account until an administrator unlocks it.
    var lockAfterFailures = 100
    var idleTimeout: Int64 = 15 * 60
    var absoluteTimeout: Int64 = 12 * 60 * 60
    /// Live sessions an account may have at once: a login beyond ends the oldest.
    var maximumSessions = 5
    var enrolmentValidity: Int64 = 7 * 24 * 60 * 60
    var passwords = PasswordPolicy()

    /// Seconds before the next attempt after `failures` consecutive failures: none for the first
    /// four (typing mistakes), then 1 s doubling to at most 60 s — so 100 failures take over an
    /// hour and a half, and a practitioner who mistypes is barely slowed.
    func delay(afterFailures failures: Int) -> Int64 {
        failures < 5 ? 0 : min(60, Int64(1) << min(failures - 5, 6))
    }
}

/// The keys session tokens are signed with: the current one signs, every published one verifies.
struct SigningKeys: Sendable {
    var currentID: String
    var current: Ed25519.PrivateKey
    /// Every key a verifier should trust now, the current one included; keys retired less than
    /// an absolute session lifetime ago stay here so their tokens verify until they expire.
    var published: [String: Ed25519.PublicKey]
}

/// Why an authentication attempt failed, for the audit trail. The caller is told less: every
/// credential failure gets the same answer.
enum AuthenticationFailure: Error, Equatable {
    /// Unknown account, wrong password, wrong or replayed code, or throttled: one answer for all.
    case rejected(reason: String)
    /// Right credentials, but no session may start: lapsed vetting, suspended account, …
    case notPermitted(reason: String)
    case invalidRequest(String)
    /// A session's own step-up (or password change) code was wrong or used already: its holder
    /// has proven the password, so the code alone can be named.
    case codeRefused
    /// Not possible in the account's present state (no passkey to sign in with, no fresh step-up).
    case notNow(String)
}

extension AuthenticationFailure {
    /// What the caller is told: the same words for every credential failure.
    var publicMessage: String {
        switch self {
        case .rejected:
            "the email, password or code is not right, or there were too many attempts: wait a moment and try again"
        case .notPermitted(let reason): "no session: \(reason)"
        case .invalidRequest(let problem): problem
        case .codeRefused: "that code is not right or was used already: wait for the next code and try again"
        case .notNow(let problem): problem
        }
    }
}

/// A session token and what it says.
struct IssuedSession: Sendable, Equatable {
    var token: String
    var claims: SessionClaims
    /// At login: the account's history since its previous session.
    var history: IdentityStore.SignInHistory?
}

/// Password + TOTP login, enrolment, refresh, step-up and logout over an ``IdentityStore``.
///
/// Timing does not tell an unknown account from a wrong password: both verify a password hash
/// with the same parameters and check a code.
struct Authenticator: Sendable {
    let store: IdentityStore
    let passwords: PasswordHasher
    let secrets: SecretBox
    let keys: SigningKeys
    var policy = IdentityPolicy()
    /// The relying party passkeys are registered with and verified for.
    var passkeyVerifier = WebAuthnVerifier(relyingPartyID: "localhost", origins: ["https://localhost:8443"])
    /// Unix seconds now; tests move it.
    let clock: WallClock
    let events: AuthenticationEvents

    /// A hash no password matches, verified when the account is unknown so that the answer
    /// takes as long as for a known one.
    let decoyHash: String

    init(
        store: IdentityStore, passwords: PasswordHasher, secrets: SecretBox, keys: SigningKeys,
        policy: IdentityPolicy = .init(),
        clock: WallClock
    ) {
        self.store = store
        self.passwords = passwords
        self.secrets = secrets
        self.keys = keys
        self.policy = policy
        self.clock = clock
        self.events = AuthenticationEvents(store: store)
        self.decoyHash = passwords.hash(UUID().uuidString)
    }

    // MARK: Login

    /// `gateway`: the agency system that relays the sign-in, if any: only its own organisation's
    /// practitioners sign in through it, and their session then works through it alone.
    func login(email: String, password: String, code: String, through gateway: GatewayPrincipal? = nil) async throws
        -> IssuedSession
    {
        let now = clock.now.seconds
        let record = try await store.loginRecord(email: email)
        // Both factors are always checked, whatever is already known to be wrong.
        let passwordMatches = passwords.verify(password, against: record?.passwordHash ?? decoyHash)
        let totp = record.flatMap { record in
            record.sealedTOTPSecret.flatMap { secrets.open($0, context: Array(record.practitioner.id.utf8)) }
        }.map(OneTimePassword.init(secret:))
        let step = (totp ?? OneTimePassword(secret: decoySecret)).matchingStep(of: code, at: now)

        let account = try await admit(
            record, passwordMatches: passwordMatches,
            secondFactorFailure: totp != nil && step != nil ? nil : "wrong code",
            now: now)
        try await checkMayStartSession(account, through: gateway, now: now)
        guard let step, try await store.claimTOTPStep(practitionerID: account.practitioner.id, step: step) else {
            try await events.record(.loginFailed, subject: account.practitioner.id, reason: "replayed code", now: now)
            throw AuthenticationFailure.rejected(reason: "replayed code")
        }
        return try await startSession(account, through: gateway, now: now)
    }

    /// The account of a sign-in attempt whose password (and second factor, unless
    /// `secondFactorFailure` says why not) is right. Otherwise the failure is counted towards
    /// throttling and lockout, recorded, and answered `rejected`, the same for every cause.
    func admit(
        _ record: IdentityStore.LoginRecord?, passwordMatches: Bool, secondFactorFailure: String?, now: Int64
    ) async throws -> IdentityStore.LoginRecord {
        guard let record else {
            try await events.record(.loginFailed, subject: nil, reason: "unknown account", now: now)
            throw AuthenticationFailure.rejected(reason: "unknown account")
        }
        let account = record.practitioner
        guard now >= record.throttledUntil else {
            try await events.record(.loginFailed, subject: account.id, reason: "throttled", now: now)
            throw AuthenticationFailure.rejected(reason: "throttled")
        }
        if let reason = !passwordMatches ? "wrong password" : secondFactorFailure {
            try await recordFailure(of: account, reason: reason, now: now)
            throw AuthenticationFailure.rejected(reason: reason)
        }
        return record
    }

    /// Counts a failed sign-in towards throttling and lockout (a locked account's is only recorded).
    func recordFailure(of account: Practitioner, reason: String, now: Int64) async throws {
        if account.isLocked {
            try await events.record(.loginFailed, subject: account.id, reason: reason, now: now)
        } else {
            _ = try await store.recordFailedLogin(
                practitionerID: account.id, reason: reason, now: now, lockAfter: policy.lockAfterFailures,
                delay: { [policy] in policy.delay(afterFailures: $0) })
        }
    }

    /// Refuses, recorded, a session to an account whose credentials were right but which may not
    /// have one now (locked, suspended, lapsed vetting, another organisation's gateway).
    func checkMayStartSession(
        _ record: IdentityStore.LoginRecord, through gateway: GatewayPrincipal?, now: Int64
    ) async throws {
        if let refusal = refusal(of: record, now: now) {
            try await events.record(.loginRefused, subject: record.practitioner.id, reason: refusal, now: now)
            throw AuthenticationFailure.notPermitted(reason: refusal)
        }
        if let gateway, let refusal = try await refusal(through: gateway, of: record) {
            try await events.record(.loginRefused, subject: record.practitioner.id, reason: refusal.code, now: now)
            throw AuthenticationFailure.notPermitted(reason: refusal.reason)
        }
    }

    /// A new session for an account that has proven both factors.
    func startSession(
        _ record: IdentityStore.LoginRecord, through gateway: GatewayPrincipal?, now: Int64
    ) async throws -> IssuedSession {
        let account = record.practitioner
        let sessionID = Base64URL.encode(SecureRandom.bytes(18))
        let absoluteExpiry = now + policy.absoluteTimeout
        let idleExpiry = min(now + policy.idleTimeout, absoluteExpiry)
        let history = try await store.startSession(
            id: sessionID, practitionerID: account.id, now: now, idleExpiry: idleExpiry, absoluteExpiry: absoluteExpiry,
            maximumSessions: policy.maximumSessions, gatewayID: gateway?.gatewayID)
        try await events.record(.loginSucceeded, subject: account.id, reason: nil, now: now)
        var session = try issue(
            account: account, organisation: record.organisation, sessionID: sessionID, expiry: idleExpiry,
            stepUpAt: now, gateway: gateway?.description, now: now)
        session.history = history
        return session
    }

    /// Why a practitioner whose credentials are right may still not have a session.
    func refusal(of record: IdentityStore.LoginRecord, now: Int64) -> String? {
        let account = record.practitioner
        if account.isLocked { return "the account is locked: ask your administrator to unlock it" }
        if account.status != .active { return "the account is \(account.status.rawValue)" }
        if !record.organisation.isActive { return "the organisation is not active" }
        return account.vetting.lapse(on: CalendarDay(inEngland: Instant(seconds: now)))
    }

    /// Why a practitioner may not sign in through `gateway` (for the audit trail, and for them),
    /// if they may not: it is another organisation's, or it was not registered to relay sign-ins
    /// (or is no longer in force: the brokers refuse it within seconds, this at once).
    func refusal(through gateway: GatewayPrincipal, of record: IdentityStore.LoginRecord) async throws
        -> (code: String, reason: String)?
    {
        if gateway.organisationID != record.organisation.id {
            return (
                "another organisation's gateway",
                "this system belongs to another organisation: sign in through your own organisation's system"
            )
        }
        guard let registered = try await store.gateway(id: gateway.gatewayID), registered.revokedAt == nil,
            registered.organisationID == gateway.organisationID, registered.actsForPractitioners
        else {
            return (
                "gateway not registered to relay sign-in",
                "this system is not registered to sign practitioners in: ask your local authority's administrator"
            )
        }
        return nil
    }

    func issue(
        account: Practitioner, organisation: Organisation, sessionID: String, expiry: Int64, stepUpAt: Int64,
        gateway: String?, now: Int64
    ) throws -> IssuedSession {
        let claims = SessionClaims(
            sub: account.id, name: account.name, homePostcode: account.vetting.homePostcode, gateway: gateway,
            sid: sessionID,
            org: organisation.id, la: organisation.localAuthority,
            roles: account.roles.map(\.name).sorted(), iat: now, exp: expiry, stepUpAt: stepUpAt)
        let token = try CompactJWS.sign(
            payload: Array(try JSONEncoder().encode(claims)), keyID: keys.currentID, with: keys.current)
        return IssuedSession(token: token, claims: claims)
    }

    private var decoySecret: [UInt8] { Array(repeating: 0, count: 20) }
}

/// Authentication decisions as outbox events for the audit trail (never a password, code or token).
struct AuthenticationEvents: Sendable {
    let store: IdentityStore

    func record(_ action: AuditAction, subject: String?, reason: String?, now: Int64) async throws {
        try await store.recordAuthenticationEvent(action, subject: subject, reason: reason, now: now)
    }
}

// MARK: - Enrolment

extension Authenticator {
    /// A one-time enrolment code: 120 random bits as 24 base32 characters, handed to the
    /// practitioner out of band. Only its SHA-256 is stored.
    static func newEnrolmentCode() -> (code: String, hash: String) {
        let code = Base32.encode(SecureRandom.bytes(15))
        return (code, enrolmentCodeHash(code))
    }

    static func enrolmentCodeHash(_ code: String) -> String {
        SHA256.hash(Array(code.uppercased().utf8)).hexString
    }

    /// The account enrolling with `code`, if the code is its own and has not expired.
    private func enrollingAccount(email: String, code: String, now: Int64) async throws -> Practitioner {
        guard let record = try await store.loginRecord(email: email), record.practitioner.status == .inactive,
            let pending = try await store.pendingEnrolment(practitionerID: record.practitioner.id),
            constantTimeEquals(Array(pending.codeHash.utf8), Array(Self.enrolmentCodeHash(code).utf8)),
            now < pending.expiresAt
        else {
            throw AuthenticationFailure.rejected(reason: "enrolment code not valid")
        }
        return record.practitioner
    }

    /// First step: checks the code and the new password, stores them with a fresh TOTP secret,
    /// and returns the `otpauth://` URI for the authenticator app.
    func beginEnrolment(email: String, code: String, password: String) async throws -> String {
        let now = clock.now.seconds
        let account = try await enrollingAccount(email: email, code: code, now: now)
        if let problem = policy.passwords.problem(with: password, email: email) {
            throw AuthenticationFailure.invalidRequest(problem)
        }
        let secret = SecureRandom.bytes(20)
        try await store.storePendingCredentials(
            practitionerID: account.id, passwordHash: passwords.hash(password),
            sealedTOTPSecret: try secrets.seal(secret, context: Array(account.id.utf8)))
        return OneTimePassword.provisioningURI(secret: secret, account: account.email)
    }

    /// Second step: a code from the authenticator proves it holds the secret; the account is active.
    func completeEnrolment(email: String, code: String, totpCode: String) async throws {
        let now = clock.now.seconds
        let account = try await enrollingAccount(email: email, code: code, now: now)
        guard let sealed = try await store.pendingTOTPSecret(practitionerID: account.id),
            let secret = secrets.open(sealed, context: Array(account.id.utf8)),
            let step = OneTimePassword(secret: secret).matchingStep(of: totpCode, at: now)
        else {
            throw AuthenticationFailure.rejected(reason: "wrong code at enrolment")
        }
        try await store.activate(practitionerID: account.id, firstStep: step, now: now)
    }
}

// MARK: - Sessions

extension Authenticator {
    /// A fresh token for a live session: extends its idle expiry, and with `stepUpCode` proves a
    /// TOTP code again (a code once used is refused here too).
    func refresh(_ claims: SessionClaims, stepUpCode: String? = nil) async throws -> IssuedSession {
        let now = clock.now.seconds
        guard let record = try await store.loginRecord(practitionerID: claims.sub) else {
            throw AuthenticationFailure.rejected(reason: "unknown account")
        }
        if let refusal = refusal(of: record, now: now) {
            throw AuthenticationFailure.notPermitted(reason: refusal)
        }
        var stepUpAt = claims.stepUpAt
        if let stepUpCode {
            let totp = record.sealedTOTPSecret.flatMap { secrets.open($0, context: Array(claims.sub.utf8)) }
                .map(OneTimePassword.init(secret:))
            guard let step = totp?.matchingStep(of: stepUpCode, at: now),
                try await store.claimTOTPStep(practitionerID: claims.sub, step: step)
            else {
                try await events.record(.stepUpFailed, subject: claims.sub, reason: "wrong or reused code", now: now)
                throw AuthenticationFailure.codeRefused
            }
            try await events.record(.stepUpSucceeded, subject: claims.sub, reason: nil, now: now)
            stepUpAt = now
        }
        guard let session = try await store.session(id: claims.sid),
            try await store.touchSession(
                id: claims.sid, now: now, idleExpiry: now + policy.idleTimeout, stepUp: stepUpCode != nil)
        else {
            throw AuthenticationFailure.rejected(reason: "session ended")
        }
        return try issue(
            account: record.practitioner, organisation: record.organisation, sessionID: claims.sid,
            expiry: min(now + policy.idleTimeout, session.absoluteExpiry), stepUpAt: stepUpAt,
            gateway: claims.gateway, now: now)
    }

    /// Changes the caller's password after checking the current one and a fresh TOTP code
    /// (which is then spent); ends the account's other sessions and returns a fresh token.
    func changePassword(_ claims: SessionClaims, current: String, new: String, code: String) async throws
        -> IssuedSession
    {
        let now = clock.now.seconds
        guard let record = try await store.loginRecord(practitionerID: claims.sub) else {
            throw AuthenticationFailure.rejected(reason: "unknown account")
        }
        let currentMatches = passwords.verify(current, against: record.passwordHash ?? decoyHash)
        let totp = record.sealedTOTPSecret.flatMap { secrets.open($0, context: Array(claims.sub.utf8)) }.map(
            OneTimePassword.init(secret:))
        guard currentMatches, let step = totp?.matchingStep(of: code, at: now),
            try await store.claimTOTPStep(practitionerID: claims.sub, step: step)
        else {
            try await events.record(
                .passwordChangeFailed, subject: claims.sub, reason: "wrong password or code", now: now)
            throw AuthenticationFailure.rejected(reason: "password change: wrong password or code")
        }
        if let problem = policy.passwords.problem(with: new, email: record.practitioner.email) {
            throw AuthenticationFailure.invalidRequest(problem)
        }
        try await store.changePassword(
            practitionerID: claims.sub, passwordHash: passwords.hash(new), keepingSession: claims.sid, now: now)
        return try await refresh(claims)
    }

    /// Ends some or all of the caller's other sessions after a fresh TOTP code (ASVS 7.5.2).
    func endOtherSessions(_ claims: SessionClaims, ids: [String], allOthers: Bool, code: String) async throws -> Int {
        let now = clock.now.seconds
        guard let record = try await store.loginRecord(practitionerID: claims.sub),
            let totp = record.sealedTOTPSecret.flatMap({ secrets.open($0, context: Array(claims.sub.utf8)) }).map(
                OneTimePassword.init(secret:)),
            let step = totp.matchingStep(of: code, at: now),
            try await store.claimTOTPStep(practitionerID: claims.sub, step: step)
        else {
            try await events.record(
                .stepUpFailed, subject: claims.sub, reason: "wrong or reused code ending sessions", now: now)
            throw AuthenticationFailure.rejected(reason: "code to end sessions")
        }
        let live = try await store.liveSessions(practitionerID: claims.sub, now: now).map(\.id).filter {
            $0 != claims.sid
        }
        let chosen = allOthers ? live : ids.filter { live.contains($0) }
        return try await store.endSessions(chosen, of: claims.sub, reason: "ended by the practitioner", now: now)
    }

    func logout(_ claims: SessionClaims) async throws {
        let now = clock.now.seconds
        try await store.endSession(id: claims.sid, reason: "logout", now: now)
        try await events.record(.loggedOut, subject: claims.sub, reason: nil, now: now)
    }
}

// MARK: - The first administrator

extension Authenticator {
    /// On an empty system, creates the ContactPoint management team and its first system
    /// administrator, and returns the one-time enrolment code to hand over; `nil` if any account
    /// exists. The administrator's vetting is recorded as attested by the operator at bootstrap,
    /// dated today: record the real check with the administration tools before it matters.
    func bootstrapAdministrator(email: String) async throws -> String? {
        let now = clock.now.seconds
        let today = CalendarDay(inEngland: Instant(seconds: now))
        let organisation = Organisation(
            id: "contactpoint-management", type: .managementTeam, name: "ContactPoint management team",
            localAuthority: "NATIONAL",
            isActive: true)
        let administrator = Practitioner(
            id: "p-" + Base32.encode(SecureRandom.bytes(10)).lowercased(), organisationID: organisation.id,
            name: "System administrator",
            email: email, jobRole: "System administrator", roles: [.systemAdministrator, .practitioner],
            status: .inactive,
            vetting: Vetting(
                criminalRecordsCheckedOn: today, criminalRecordsReference: "attested-at-bootstrap",
                trainingCompletedOn: today,
                userAgreementAcceptedOn: today),
            isLocked: false)
        let (code, hash) = Self.newEnrolmentCode()
        let created = try await store.bootstrap(
            organisation: organisation, administrator: administrator, enrolmentCodeHash: hash,
            enrolmentExpiresAt: now + policy.enrolmentValidity, now: now)
        return created ? code : nil
    }
}

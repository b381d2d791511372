import DemoWorld
import Foundation
import SecurityPrimitives
import Timekeeping
import Vocabulary

extension Authenticator {
    /// A demo account as created: shown once, never stored in the clear.
    struct DemoCredential: Sendable {
        var email: String
        var roles: [String]
        var organisation: String
        var password: String
        /// The TOTP secret in base32, as an authenticator app takes it.
        var totpSecret: String
    }

    /// Creates ``DemoWorld``'s organisations and enrolled accounts, unless every account is
    /// there and enrolled: the real enrolment path (password policy, KDF, sealed TOTP secret), with
    /// a random password each. Enrolment is proved with the previous step's code, so a login may use
    /// the current one.
    ///
    /// The credentials are shown once, after the last account is enrolled. A start cut short
    /// before then (a crash, a power cut) showed none, so the next start finishes the world and
    /// gives every account new credentials: accounts made before are reset, not left unusable.
    func createDemoWorld() async throws -> [DemoCredential]? {
        let now = clock.now.seconds
        var existing: [String: Practitioner] = [:]
        for person in DemoWorld.practitioners {
            existing[person.email] = try await store.loginRecord(email: person.email)?.practitioner
        }
        if existing.count == DemoWorld.practitioners.count, existing.values.allSatisfy({ $0.status == .active }) {
            return nil
        }
        let demo = store.acting(as: "demo-world")
        for organisation in DemoWorld.organisations {
            guard try await store.organisation(id: organisation.id) == nil else { continue }
            try await demo.createOrganisation(
                Organisation(
                    id: organisation.id, type: OrganisationType(rawValue: organisation.type)!, name: organisation.name,
                    localAuthority: DemoWorld.localAuthority, isActive: true),
                now: now)
        }
        let today = CalendarDay(inEngland: Instant(seconds: now))
        var credentials: [DemoCredential] = []
        for person in DemoWorld.practitioners {
            var roles = Set(person.roles)
            roles.insert(.practitioner)
            let (code, hash) = Self.newEnrolmentCode()
            if let made = existing[person.email] {
                try await demo.resetCredentials(
                    practitionerID: made.id, enrolmentCodeHash: hash,
                    enrolmentExpiresAt: now + policy.enrolmentValidity, now: now)
            } else {
                try await demo.createPractitioner(
                    Practitioner(
                        id: "p-" + Base32.encode(SecureRandom.bytes(10)).lowercased(),
                        organisationID: person.organisationID, name: person.name,
                        email: person.email, jobRole: person.jobRole, roles: roles, status: .inactive,
                        vetting: Vetting(
                            criminalRecordsCheckedOn: today, criminalRecordsReference: "demo-\(person.organisationID)",
                            trainingCompletedOn: today,
                            userAgreementAcceptedOn: today),
                        isLocked: false),
                    enrolmentCodeHash: hash, enrolmentExpiresAt: now + policy.enrolmentValidity, now: now)
            }
            let password = "demo " + Base32.encode(SecureRandom.bytes(10)).lowercased()
            let uri = try await beginEnrolment(email: person.email, code: code, password: password)
            guard let secretText = URLComponents(string: uri)?.queryItems?.first(where: { $0.name == "secret" })?.value,
                let secret = Base32.decode(secretText)
            else { fatalError("the provisioning URI has no secret: \(uri)") }
            try await proveDemoAuthenticator(email: person.email, code: code, secret: secret)
            credentials.append(
                DemoCredential(
                    email: person.email, roles: roles.map(\.name).sorted(), organisation: person.organisationID,
                    password: password,
                    totpSecret: secretText))
        }
        return credentials
    }

    /// Completes enrolment with the previous step's code at the time of the call (each account's
    /// password hashing takes a while, so not the time the world was started). Should the step
    /// turn between reading the clock and checking the code, the code is two steps old: once more.
    private func proveDemoAuthenticator(email: String, code: String, secret: [UInt8]) async throws {
        for attempt in 1...2 {
            do {
                return try await completeEnrolment(
                    email: email, code: code, totpCode: OneTimePassword(secret: secret).code(at: clock.now.seconds - 30)
                )
            } catch AuthenticationFailure.rejected where attempt == 1 {
                continue
            }
        }
    }
}

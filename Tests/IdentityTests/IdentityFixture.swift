import Authentication
import Foundation
import GRDB
import SecurityPrimitives
import Synchronization
import TestSupport
import Timekeeping
import Vocabulary

@testable import Identity

/// A clock tests move by hand.
final class TestClock: Sendable {
    private let seconds: Atomic<Int64>
    /// Added on every reading: lets concurrent attempts each land after the last one's delay.
    private let stride: Int64

    init(_ start: Int64 = 1_800_000_000, stride: Int64 = 0) {
        seconds = Atomic(start)
        self.stride = stride
    }

    var now: Int64 { seconds.wrappingAdd(stride, ordering: .relaxed).oldValue }
    /// What the next reading will be, without taking it.
    var upcoming: Int64 { seconds.load(ordering: .relaxed) }
    func advance(by delta: Int64) { seconds.wrappingAdd(delta, ordering: .relaxed) }
}

/// An identity database in memory with one organisation and one enrolled, vetted
/// practitioner, and an authenticator over it.
struct IdentityFixture {
    let store: IdentityStore
    let clock: TestClock
    let keys: SigningKeys
    let authenticator: Authenticator
    let practitioner: Practitioner
    let organisation = Organisation(
        id: "org-1", type: .educationalSetting, name: "Hillside Primary", localAuthority: "E09000033", isActive: true)
    let password = "a long enough passphrase"
    let totpSecret = SecureRandom.bytes(20)

    static func make(
        clock: TestClock = TestClock(), vetting: Vetting? = nil, roles: Set<Role> = [.practitioner]
    ) async throws -> IdentityFixture {
        let store = try IdentityStore(DatabaseQueue())
        let signing = Ed25519.PrivateKey.generate()
        let keys = SigningKeys(currentID: "k1", current: signing, published: ["k1": signing.publicKey])
        // Fewer PBKDF2 iterations than production, to keep the suite fast.
        let passwords = PasswordHasher(pepper: SecureRandom.bytes(32), iterations: 1_000)
        let authenticator = Authenticator(
            store: store, passwords: passwords, secrets: SecretBox(key: SecureRandom.bytes(32)), keys: keys,
            clock: WallClock { Instant(seconds: clock.now) })
        let today = CalendarDay(inEngland: Instant(seconds: clock.now))
        let practitioner = Practitioner(
            id: "p-1", organisationID: "org-1", name: "Sam Carter", email: "sam.carter@hillside.example",
            jobRole: "Deputy head",
            roles: roles, status: .inactive,
            vetting: vetting
                ?? Vetting(
                    criminalRecordsCheckedOn: CalendarDay(year: today.year - 1, month: 1, day: 10)!,
                    criminalRecordsReference: "001234567890",
                    trainingCompletedOn: today, userAgreementAcceptedOn: today),
            isLocked: false)
        var fixture = IdentityFixture(
            store: store, clock: clock, keys: keys,
            authenticator: authenticator, practitioner: practitioner)
        try await fixture.enrol()
        return fixture
    }

    private mutating func enrol() async throws {
        let now = clock.now
        try await store.createOrganisation(organisation, now: now)
        try await store.createPractitioner(
            practitioner, enrolmentCodeHash: "unused", enrolmentExpiresAt: now + 3600, now: now)
        try await store.storePendingCredentials(
            practitionerID: practitioner.id, passwordHash: authenticator.passwords.hash(password),
            sealedTOTPSecret: try authenticator.secrets.seal(totpSecret, context: Array(practitioner.id.utf8)))
        try await store.activate(
            practitionerID: practitioner.id, firstStep: OneTimePassword(secret: totpSecret).timeStep(at: now) - 2,
            now: now)
    }

    /// The authenticator app's code now.
    func code() -> String { OneTimePassword(secret: totpSecret).code(at: clock.upcoming) }

    func login(password: String? = nil, code: String? = nil, email: String? = nil) async throws -> IssuedSession {
        try await authenticator.login(
            email: email ?? practitioner.email, password: password ?? self.password, code: code ?? self.code())
    }

    func verifier() -> SessionVerifier {
        let verifier = SessionVerifier(clock: WallClock { [clock] in Instant(seconds: clock.now) })
        verifier.trust(keys: keys.published)
        return verifier
    }
}

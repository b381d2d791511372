import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import SecurityPrimitives
import ServiceRuntime
import Supervisor
import TestSupport
import Testing
import ZeroMQ

/// The identity service as a new system's first administrator meets it: bootstrapped by
/// `contactpoint up`, enrolled, logged in and out with the command-line client.
@Suite("Identity end to end", .timeLimit(.minutes(3)))
struct IdentityEndToEndTests {
    @Test("the bootstrapped administrator enrols, logs in, administers accounts from the command line, and logs out")
    func firstAdministrator() async throws {
        // A breach corpus in the published layout: a password in it is refused at enrolment.
        let corpus = FileManager.default.temporaryDirectory.appendingPathComponent("breached-\(UUID()).txt").path
        defer { try? FileManager.default.removeItem(atPath: corpus) }
        try BreachCorpus.write(passwords: ["a passphrase from a breach"], padding: 10_000, to: corpus)
        let stack = try await LocalStack.start(environment: ["CONTACTPOINT_BREACHED_PASSWORDS": corpus])
        try await stack.waitForStatus("healthy") { $0.isHealthy }
        let code = try stack.bootstrapEnrolmentCode()
        let email = StackService.bootstrapAdministrator
        let password = "correct horse battery staple"

        let breached = await #expect(throws: RPCError.self) {
            try await stack.withIdentityClient {
                try await enrol($0, email: email, code: code, password: "a passphrase from a breach")
            }
        }
        #expect(breached?.code == .invalidArgument)
        #expect(breached?.message.contains("appeared in a data breach") == true, "\(String(describing: breached))")
        // Enrol through the bus, as `contactpoint enrol` does
        let otp = try await stack.withIdentityClient {
            try await enrol($0, email: email, code: code, password: password)
        }
        // The code that proved the authenticator is spent; the current step's code is not
        let loginStep = otp.timeStep(at: Int64(Date().timeIntervalSince1970))

        let config = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID())").path
        let environment = ["XDG_CONFIG_HOME": config]
        defer { try? FileManager.default.removeItem(atPath: config) }
        let cli = { (arguments: [String], input: String?) in
            try RunningProcess(
                "contactpoint", arguments + ["--data-dir", stack.directory.root], name: arguments[0],
                environment: environment, input: input)
        }
        let wrong = try cli(["login", "--email", email], "not the password at all\n\(otp.code(counter: loginStep))\n")
        #expect(await wrong.exited() == 1)
        #expect(wrong.text.contains("the email, password or code is not right"))

        let login = try cli(["login", "--email", email], "\(password)\n\(otp.code(counter: loginStep))\n")
        #expect(await login.exited() == 0, "\(login.text)")
        #expect(login.text.contains("this is your first session"))
        #expect(login.text.contains("1 failed login attempt before this login: if not yours, tell your administrator"))
        // The session is kept with the stack that granted it, not in the per-user configuration
        let sessionFile = stack.sessionFile
        let mode = try #require(
            try FileManager.default.attributesOfItem(atPath: sessionFile)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        #expect(!FileManager.default.fileExists(atPath: "\(config)/contactpoint"))
        try await expectSessionKeptPerStack(stack, config: config)

        let whoami = try cli(["whoami"], nil)
        #expect(await whoami.exited() == 0)
        #expect(whoami.text.contains("System administrator <\(email)>"))
        #expect(whoami.text.contains("system-administrator"))

        // The same code again: refused (replay), whatever the password
        let replay = try cli(["login", "--email", email], "\(password)\n\(otp.code(counter: loginStep))\n")
        #expect(await replay.exited() == 1)

        // The replay shows someone has the password and a code: identity's notice reaches the notification service.
        let notices = try await eventually("the replay's notice", every: .milliseconds(200)) {
            let list = try cli(["notices"], nil)
            #expect(await list.exited() == 0, "\(list.text)")
            return list.text.contains("a code already used") ? list.text : nil
        }
        #expect(notices.contains("your account became active"), "\(notices)")
        #expect(
            notices.contains(
                "a login gave your password with a code already used: if this was not you, change your password"))
        let newest = try #require(notices.firstMatch(of: /--through (\d+)/)?.1).description
        let read = try cli(["notices", "read", "--through", newest], nil)
        #expect(await read.exited() == 0)
        #expect(read.text.contains("2 notices marked read"), "\(read.text)")
        let none = try cli(["notices"], nil)
        #expect(await none.exited() == 0)
        #expect(none.text.contains("no unread notices"))

        // Administration from the command line
        let org = try cli(
            [
                "admin", "orgs", "create", "--type", "gp-practice", "--name", "Riverside Surgery", "--local-authority",
                "E08000025",
            ], nil)
        #expect(await org.exited() == 0, "\(org.text)")
        let orgID = try #require(org.text.firstMatch(of: /created (org-[a-z2-7]+)/)?.1).description
        let user = try cli(
            [
                "admin", "users", "create", "--organisation", orgID, "--name", "Dr Asha Patel", "--email",
                "asha@riverside.example",
                "--job-role", "GP", "--crb-checked-on", "2026-01-05", "--crb-reference", "001234567890",
            ], nil)
        #expect(await user.exited() == 0, "\(user.text)")
        #expect(user.text.firstMatch(of: /\n[A-Z2-7]{24}\n/) != nil, "the one-time enrolment code is printed")
        let userID = try #require(user.text.firstMatch(of: /created (p-[a-z2-7]+)/)?.1).description
        let list = try cli(["admin", "users", "list"], nil)
        #expect(await list.exited() == 0)
        #expect(list.text.contains("asha@riverside.example"))
        let suspend = try cli(["admin", "users", "suspend", userID], nil)
        #expect(await suspend.exited() == 1, "an inactive account cannot be suspended: \(suspend.text)")
        #expect(suspend.text.contains("failedPrecondition"))
        let close = try cli(["admin", "users", "close", userID], nil)
        #expect(await close.exited() == 0)
        #expect(close.text.contains("\(userID): closed"))

        let token = try String(contentsOfFile: sessionFile, encoding: .utf8)
        let logout = try cli(["logout"], nil)
        #expect(await logout.exited() == 0)
        // The old token no longer works anywhere the identity service decides
        let error = await #expect(throws: RPCError.self) {
            try await stack.withIdentityClient { identity in
                try await identity.whoAmI(.init(), metadata: ["authorization": "Bearer \(token)"])
            }
        }
        #expect(error?.code == .unauthenticated)
        #expect(!stack.up.text.contains(password), "no password in any log")
    }

    /// A session is the stack's that granted it: another data directory (naming the same brokers)
    /// has none, and a stack reached by `--broker` keeps its own under XDG_CONFIG_HOME, named by
    /// its brokers' lowest public key.
    func expectSessionKeptPerStack(_ stack: LocalStack, config: String) async throws {
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("other-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: other) }
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: stack.directory.keysDirectory, toPath: "\(other)/keys")
        try FileManager.default.copyItem(atPath: stack.directory.stateFile, toPath: "\(other)/stack.json")
        let elsewhere = try RunningProcess(
            "contactpoint", ["whoami", "--data-dir", other], name: "whoami", environment: ["XDG_CONFIG_HOME": config])
        #expect(await elsewhere.exited() == 1)
        #expect(elsewhere.text.contains("not logged in"), "\(elsewhere.text)")

        let state = try StackState.read(from: stack.directory.stateFile)
        let brokers = state.brokers.map { "\($0.endpoint),\($0.publicKeyFile)" }
        let flags =
            brokers.flatMap { ["--broker", $0] } + [
                "--key-file", stack.directory.keyFile(principal: StackDirectory.operatorPrincipal),
            ]
        let named = {
            try RunningProcess(
                "contactpoint", ["whoami"] + flags, name: "whoami", environment: ["XDG_CONFIG_HOME": config])
        }
        let before = try named()
        #expect(await before.exited() == 1)
        #expect(before.text.contains("not logged in"), "\(before.text)")
        let keys = try brokers.map {
            try ConfigurationValue.parsing("broker", $0, ConfigurationValue.broker).publicKey.bytes
                .map { String(format: "%02x", $0) }.joined()
        }
        let sessions = "\(config)/contactpoint/sessions"
        try FileManager.default.createDirectory(atPath: sessions, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: stack.sessionFile, toPath: "\(sessions)/\(try #require(keys.min()))")
        let after = try named()
        #expect(await after.exited() == 0, "\(after.text)")
    }
}

@Suite("Sessions across services", .timeLimit(.minutes(2)))
struct CrossServiceSessionTests {
    @Test(
        "a session works at another service (echo requiring sessions) and stops working there once suspended")
    func suspensionReachesEcho() async throws {
        let stack = try await LocalStack.start(environment: ["CONTACTPOINT_REQUIRE_SESSION": "true"])
        try await stack.waitForStatus("healthy") { $0.isHealthy }
        let adminCode = try stack.bootstrapEnrolmentCode()
        let now: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }

        let (practitionerToken, practitionerID, adminToken) = try await stack.withIdentityClients {
            identity, administration in
            // The administrator enrols and logs in
            let admin = try await enrolAndLogIn(
                identity, email: StackService.bootstrapAdministrator, code: adminCode,
                password: "quiet harbour at dawn", now: now)
            let adminSession: Metadata = ["authorization": "Bearer \(admin)"]
            // and creates a vetted practitioner, who enrols and logs in
            let organisation = try await administration.createOrganisation(
                .with {
                    $0.type = "educational-setting"
                    $0.name = "Hillside Primary"
                    $0.localAuthority = "E09000033"
                }, metadata: adminSession)
            let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
            let created = try await administration.createPractitioner(
                .with {
                    $0.organisationID = organisation.organisationID
                    $0.name = "Sam Carter"
                    $0.email = "sam@hillside.example"
                    $0.jobRole = "Deputy head"
                    $0.vetting = .with {
                        $0.criminalRecordsCheckedOn = today
                        $0.criminalRecordsReference = "001234567890"
                        $0.trainingCompletedOn = today
                        $0.userAgreementAcceptedOn = today
                    }
                }, metadata: adminSession)
            let token = try await enrolAndLogIn(
                identity, email: "sam@hillside.example", code: created.enrolmentCode,
                password: "sam's own long passphrase", now: now)
            return (token, created.account.practitionerID, admin)
        }

        try await stack.withEchoClient { echo in
            let session: Metadata = ["authorization": "Bearer \(practitionerToken)"]
            // No session, no answer
            let anonymous = await #expect(throws: RPCError.self) { try await echo.get(.with { $0.text = "hello?" }) }
            #expect(anonymous?.code == .unauthenticated)
            // With the session, an answer (once echo has learnt the identity service's keys: it
            // asks every 100 ms until its first answer)
            let reply = try await eventually("echo answers the session") {
                try? await echo.get(.with { $0.text = "hello" }, metadata: session)
            }
            #expect(reply.text == "hello")

            // When the practitioner is suspended
            try await stack.withIdentityClients { _, administration in
                _ = try await administration.setAccountStatus(
                    .with {
                        $0.practitionerID = practitionerID
                        $0.status = "suspended"
                    }, metadata: ["authorization": "Bearer \(adminToken)"])
            }
            // Then echo refuses the session once it has pulled the ended sessions (every 2 s)
            try await eventually("echo refuses the suspended practitioner's session") {
                do {
                    _ = try await echo.get(.with { $0.text = "still me" }, metadata: session)
                    return false
                } catch let error as RPCError where error.code == .unauthenticated {
                    return true
                }
            }
        }
    }

    @Test(
        """
        the command line keeps a session alive while it is used, past the idle timeout, and when the session \
        has expired it says to log in again
        """)
    func sessionKeptAliveInUse() async throws {
        // An 8 s idle timeout stands for the 15 minutes: long enough that a loaded machine, slow to start
        // the command (4 s was not: the first use found the session expired), still uses it in time
        let stack = try await LocalStack.start(environment: ["CONTACTPOINT_SESSION_IDLE_TIMEOUT": "8s"])
        try await stack.waitForStatus("healthy") { $0.isHealthy }
        let code = try stack.bootstrapEnrolmentCode()
        let token = try await stack.withIdentityClient { identity in
            try await enrolAndLogIn(
                identity, email: StackService.bootstrapAdministrator, code: code,
                password: "correct horse battery staple", now: { Int64(Date().timeIntervalSince1970) })
        }
        // Logged in on the command line: the token where `contactpoint login` keeps it
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: config) }
        try stack.saveSession(token)
        let whoami = {
            try RunningProcess(
                "contactpoint", ["whoami", "--data-dir", stack.directory.root], name: "whoami",
                environment: ["XDG_CONFIG_HOME": config])
        }
        // Used every 3 s for 15 s, well past the 8 s idle timeout: every command works
        let start = ContinuousClock.now
        for use in 1...5 {
            try await Task.sleep(until: start + .milliseconds(3_000 * use))
            let used = try whoami()
            #expect(await used.exited() == 0, "use \(use): \(used.text)")
        }
        // Unused for longer than the idle timeout: it has expired, and the command says what to do
        try await Task.sleep(for: .seconds(9))
        let late = try whoami()
        #expect(await late.exited() != 0)
        #expect(late.text.contains("the session has expired"), "\(late.text)")
        #expect(late.text.contains("log in again"), "\(late.text)")
    }

    /// Enrols and logs in with the current step's code; returns the session token.
    func enrolAndLogIn(
        _ identity: Contactpoint_V1_Identity.Client<BusClientTransport>, email: String, code: String, password: String,
        now: () -> Int64
    ) async throws -> String {
        let otp = try await enrol(identity, email: email, code: code, password: password)
        return try await identity.login(
            .with {
                $0.email = email
                $0.password = password
                $0.totpCode = otp.code(at: now())
            }
        ).token
    }
}

extension LocalStack {
    /// The one-time enrolment code `up` printed for the bootstrapped administrator.
    func bootstrapEnrolmentCode() throws -> String {
        let line = try #require(up.text.split(separator: "\n").first { $0.contains("first administrator created") })
        return try #require(line.firstMatch(of: /--code ([A-Z2-7]+)/)?.1).description
    }

    func withIdentityClients<T: Sendable>(
        _ body:
            @Sendable (
                Contactpoint_V1_Identity.Client<BusClientTransport>,
                Contactpoint_V1_IdentityAdmin.Client<BusClientTransport>
            )
            async throws -> T
    ) async throws -> T {
        try await withGRPCClient(transport: try BusClientTransport(config: operatorClientConfig())) { client in
            try await body(
                Contactpoint_V1_Identity.Client(wrapping: client),
                Contactpoint_V1_IdentityAdmin.Client(wrapping: client))
        }
    }

    func withIdentityClient<T: Sendable>(
        _ body: @Sendable (Contactpoint_V1_Identity.Client<BusClientTransport>) async throws -> T
    ) async throws -> T {
        try await withIdentityClients { identity, _ in try await body(identity) }
    }
}

/// Enrols with the one-time `code` (proving the authenticator with the previous step's code, so
/// that the current step stays free for logging in); returns the authenticator.
func enrol(
    _ identity: Contactpoint_V1_Identity.Client<BusClientTransport>, email: String, code: String, password: String
) async throws -> OneTimePassword {
    let begun = try await identity.beginEnrolment(
        .with {
            $0.email = email
            $0.enrolmentCode = code
            $0.password = password
        })
    let secret = try #require(
        begun.otpauthUri.firstMatch(of: /secret=([A-Z2-7]+)/).flatMap { Base32.decode(String($0.1)) })
    let otp = OneTimePassword(secret: secret)
    _ = try await identity.completeEnrolment(
        .with {
            $0.email = email
            $0.enrolmentCode = code
            $0.totpCode = otp.code(at: Int64(Date().timeIntervalSince1970) - 30)
        })
    return otp
}

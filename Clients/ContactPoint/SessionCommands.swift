import ArgumentParser
import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import SecurityPrimitives
import ServiceRuntime
import TerminalQRCode
import Timekeeping

/// Runs `body` with an identity client over the bus.
func withIdentity<T: Sendable>(
    _ bus: BusClientOptions, _ body: @Sendable (Contactpoint_V1_Identity.Client<BusClientTransport>) async throws -> T
) async throws -> T {
    try await withBusClient(bus) { try await body(Contactpoint_V1_Identity.Client(wrapping: $0)) }
}

/// `contactpoint login`: password and code, never echoed; the session is stored for later commands.
struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Log in with your password and the code from your authenticator app.")

    @OptionGroup var bus: BusClientOptions
    @Option(help: "Your work email.")
    var email: String

    func run() async throws {
        let password = try Prompt.line("Password: ", secret: true)
        let code = try Prompt.line("Code from your authenticator app: ", secret: true)
        let grant = try await withIdentity(bus) { identity in
            try await identity.login(
                .with {
                    $0.email = email
                    $0.password = password
                    $0.totpCode = code
                })
        }
        try bus.sessionFile.save(grant.token)
        print("logged in; the session lasts while you use it (15 minutes idle, 12 hours at most)")
        print(
            grant.previousSessionStartedAt == 0
                ? "this is your first session"
                : "your previous session started \(formatTime(Instant(seconds: grant.previousSessionStartedAt).milliseconds))"
        )
        if grant.failedAttemptsSince > 0 {
            let when = grant.previousSessionStartedAt == 0 ? "before this login" : "since then"
            print(
                """
                \(grant.failedAttemptsSince) failed login attempt\(grant.failedAttemptsSince == 1 ? "" : "s") \
                \(when): if not yours, tell your administrator
                """
            )
        }
        if let notices = await Notices.unreadSummary(bus, token: grant.token, onTheirWay: grant.noticesOnTheirWay) {
            print(notices)
        }
    }
}

/// `contactpoint logout`: ends the session everywhere and forgets it here.
struct Logout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "End your session.")

    @OptionGroup var bus: BusClientOptions

    func run() async throws {
        let metadata = try bus.sessionMetadata()
        _ = try await withIdentity(bus) { try await $0.logout(.init(), metadata: metadata) }
        bus.sessionFile.remove()
        print("logged out")
    }
}

/// `contactpoint whoami`: who the stored session says you are.
struct WhoAmI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami", abstract: "Show who your session says you are.")

    @OptionGroup var bus: BusClientOptions
    @OptionGroup var output: JSONOutput

    func run() async throws {
        let metadata = try bus.sessionMetadata()
        let me = try await withIdentity(bus) { try await $0.whoAmI(.init(), metadata: metadata) }
        if try output.printed(me) { return }
        print(
            """
            \(me.name) <\(me.email)>, \(me.organisationName) (\(me.localAuthority)); roles: \
            \(me.roles.joined(separator: ", "))
            """
        )
    }
}

/// `contactpoint enrol`: activate an account with the one-time code an administrator gave you.
struct Enrol: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Activate your account: choose a password and add ContactPoint to your authenticator app.")

    @OptionGroup var bus: BusClientOptions
    @Option(help: "Your work email.")
    var email: String
    @Option(help: "The one-time enrolment code you were given.")
    var code: String

    func run() async throws {
        let password = try Prompt.line("Choose a password (12 to 128 characters): ", secret: true)
        if isatty(STDIN_FILENO) == 1, try Prompt.line("The same password again: ", secret: true) != password {
            throw CLIError("the two passwords differ")
        }
        let begun = try await withIdentity(bus) { identity in
            try await identity.beginEnrolment(
                .with {
                    $0.email = email
                    $0.enrolmentCode = code
                    $0.password = password
                })
        }
        // Written straight out: a script answering the next prompt must see it first.
        let qr = QRCode(begun.otpauthUri)?.rendered() ?? ""
        FileHandle.standardOutput.write(
            Data(
                """
                Scan this with your authenticator app, or enter the secret from the line below it by hand:
                \(qr)
                \(begun.otpauthUri)

                """.utf8))
        let totp = try Prompt.line("Code now shown by your authenticator app: ")
        _ = try await withIdentity(bus) { identity in
            try await identity.completeEnrolment(
                .with {
                    $0.email = email
                    $0.enrolmentCode = code
                    $0.totpCode = totp
                })
        }
        print("enrolled: log in with `contactpoint login --email \(email)`")
    }
}

/// `contactpoint password`: change your password (the current one and a code are required).
struct ChangePassword: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "password", abstract: "Change your password; your other sessions end.")

    @OptionGroup var bus: BusClientOptions

    func run() async throws {
        let metadata = try bus.sessionMetadata()
        let current = try Prompt.line("Current password: ", secret: true)
        let new = try Prompt.line("New password (12 to 128 characters): ", secret: true)
        if isatty(STDIN_FILENO) == 1, try Prompt.line("The new password again: ", secret: true) != new {
            throw CLIError("the two passwords differ")
        }
        let code = try Prompt.line("Code from your authenticator app: ", secret: true)
        let grant = try await withIdentity(bus) { identity in
            try await identity.changePassword(
                .with {
                    $0.currentPassword = current
                    $0.newPassword = new
                    $0.totpCode = code
                }, metadata: metadata)
        }
        try bus.sessionFile.save(grant.token)
        print("password changed; your other sessions have ended")
    }
}

/// `contactpoint sessions`: your live sessions; `sessions end` ends the others.
struct Sessions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List your live sessions, or end the others.", subcommands: [List.self, End.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List your live sessions; * marks this one.")
        @OptionGroup var bus: BusClientOptions

        func run() async throws {
            let metadata = try bus.sessionMetadata()
            let list = try await withIdentity(bus) { try await $0.listSessions(.init(), metadata: metadata) }
            for session in list.sessions {
                let started = Date(timeIntervalSince1970: TimeInterval(session.startedAt)).formatted(.iso8601)
                print("\(session.current ? "*" : " ") \(session.sessionID)  started \(started)")
            }
        }
    }

    struct End: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End your other sessions (all of them, or those named).")
        @OptionGroup var bus: BusClientOptions
        @Argument(help: "Session ids from `contactpoint sessions`; none: every other session.")
        var ids: [String] = []

        func run() async throws {
            let metadata = try bus.sessionMetadata()
            let code = try Prompt.line("Code from your authenticator app: ", secret: true)
            let response = try await withIdentity(bus) { identity in
                try await identity.endSessions(
                    .with {
                        $0.sessionIds = ids
                        $0.allOthers = ids.isEmpty
                        $0.totpCode = code
                    }, metadata: metadata)
            }
            print("ended \(response.ended) session\(response.ended == 1 ? "" : "s")")
        }
    }
}

/// `contactpoint step-up`: re-enter a code before a sensitive action (a shield or consent override).
struct StepUp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step-up",
        abstract: "Enter a fresh code from your authenticator app before a sensitive action (valid 5 minutes).")

    @OptionGroup var bus: BusClientOptions

    func run() async throws {
        let metadata = try bus.sessionMetadata()
        let code = try Prompt.line("Code from your authenticator app: ", secret: true)
        let grant = try await withIdentity(bus) {
            try await $0.stepUp(.with { $0.totpCode = code }, metadata: metadata)
        }
        try bus.sessionFile.save(grant.token)
        print("stepped up: sensitive actions are open to you for the next 5 minutes")
    }
}

/// `contactpoint code`: the current TOTP code of a secret, for the demo world's accounts.
struct Code: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            """
            Show the current code for a TOTP secret (the demo accounts'; a real account's secret lives only in \
            your authenticator app).
            """
    )

    @Option(help: "The base32 secret `up --demo` printed.") var secret: String

    func run() throws {
        guard let bytes = Base32.decode(secret.uppercased().filter { $0 != " " }), bytes.count >= 10 else {
            throw ValidationError("--secret: a base32 TOTP secret, as printed by `contactpoint up --demo`")
        }
        let now = Int64(Date().timeIntervalSince1970)
        print("\(OneTimePassword(secret: bytes).code(at: now))  (valid for \(30 - now % 30) more seconds)")
    }
}

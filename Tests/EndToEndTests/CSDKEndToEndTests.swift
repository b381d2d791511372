import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import Index
import SecurityPrimitives
import Supervisor
import TestSupport
import Testing
import ZeroMQ

/// libcontactpoint, the C SDK (Clients/libcontactpoint), built by its own Makefile and driven by
/// its C test program (`tests/sdk_check.c`) against a stack run by the real `contactpoint up`:
/// once as built, once under AddressSanitizer, UndefinedBehaviorSanitizer and LeakSanitizer.
/// Between the program's steps this side acts from the Swift command line and kills a broker.
// One test at a time, each build on one core: C compiles beside the other suites' stacks starve the
// timing-bound tests of a two-core machine.
@Suite("The C SDK against a real stack", .serialized, .timeLimit(.minutes(4)))
struct CSDKEndToEndTests {
    static let sdkDirectory = OtherLanguageClientTests.repositoryRoot.appendingPathComponent("Clients/libcontactpoint")
        .path
    static let buildRoot = OtherLanguageClientTests.repositoryRoot.appendingPathComponent(".build/libcontactpoint")
        .path

    /// Builds the test program with `make`; returns its path.
    static func buildCheckProgram(sanitized: Bool) async throws -> String {
        let build = "\(buildRoot)/\(sanitized ? "sanitized" : "plain")"
        let make = try RunningProcess(
            try RunningProcess.onPath("make"),
            ["-C", sdkDirectory, "BUILD=\(build)", "check-program"] + (sanitized ? ["SANITIZE=1"] : []),
            name: "make")
        #expect(await make.exited() == 0, "\(make.text)")
        return "\(build)/sdk-check"
    }

    /// The libFuzzer target (`tests/fuzz_reply.c`: MDP frames, reply header and every typed
    /// call's reply message), built with clang and run from the committed seeds for 15 seconds.
    /// Longer runs: `make fuzz` and run `fuzz-reply -max_total_time=SECONDS`.
    @Test("reply decoding survives 15 seconds of libFuzzer under ASan and UBSan")
    func fuzzReplyDecoding() async throws {
        let build = "\(Self.buildRoot)/fuzz"
        let make = try RunningProcess(
            try RunningProcess.onPath("make"), ["-C", Self.sdkDirectory, "BUILD=\(build)", "fuzz"], name: "make")
        #expect(await make.exited() == 0, "\(make.text)")
        let corpus = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-corpus-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: corpus) }
        try FileManager.default.copyItem(atPath: "\(Self.sdkDirectory)/tests/fuzz-seeds", toPath: corpus)
        let fuzz = try RunningProcess("\(build)/fuzz-reply", ["-max_total_time=15", corpus], name: "fuzz-reply")
        let status = await fuzz.exited()
        #expect(status == 0 && fuzz.text.contains("Done "), "\(fuzz.text.suffix(4000))")
    }

    @Test("sign-in, search and view with reasons, involvements, indicators, alerts followed and resumed, failover")
    func checkProgram() async throws {
        let programs = [
            try await Self.buildCheckProgram(sanitized: false), try await Self.buildCheckProgram(sanitized: true),
        ]
        let stack = try await LocalStack.start()
        try await stack.waitForStatus("healthy") { $0.isHealthy }
        let gateways = [
            LocalStack.OtherPerson(
                name: "Asha Patel", email: "asha@riverside.example", organisation: ("gp-practice", "Riverside Surgery"),
                signsInLater: true),
            LocalStack.OtherPerson(
                name: "Kim Lowe", email: "kim@canalstreet.example",
                organisation: ("gp-practice", "Canal Street Surgery"), signsInLater: true),
        ]
        let people = try await stack.enrolAuditorAndPractitioner(others: gateways)
        let cli = { (arguments: [String]) in
            try RunningProcess("contactpoint", arguments + ["--data-dir", stack.directory.root], name: arguments[0])
        }
        let work = "\(stack.directory.root)/sdk"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let seed = try RunningProcess(
            "contactpoint", ["seed", "--children", "50", "--output", "\(work)/children.feed"], name: "seed")
        #expect(await seed.exited() == 0, "\(seed.text)")
        try stack.saveSession(people.administratorToken)
        let load = try cli(["children", "load", "\(work)/children.feed"])
        #expect(await load.exited() == 0, "\(load.text)")
        var generator = PopulationGenerator(seed: 1)
        let children = (0..<2).map { _ in generator.next().child }.map {
            ChildRecordSample(
                given: String($0.name.given.split(separator: " ")[0]), family: $0.name.family, born: $0.dateOfBirth)
        }

        for (run, (program, person)) in zip(programs, gateways).enumerated() {
            let practitioner = try #require(people.notSignedIn[person.email])
            let other = try #require(people.notSignedIn[gateways[1 - run].email])
            let sync = "\(work)/sync-\(run)"
            try FileManager.default.createDirectory(atPath: sync, withIntermediateDirectories: true)

            // The administrator registers the practitioner's organisation's system as a gateway
            let keyName = "gateway-\(run)"
            let keys = try RunningProcess(
                "contactpoint", ["keys", "generate", keyName, "--directory", sync], name: "keys")
            #expect(await keys.exited() == 0, "\(keys.text)")
            try stack.saveSession(people.administratorToken)
            let register = try cli([
                "admin", "gateways", "register", "--organisation", practitioner.organisationID, "--name",
                "\(person.name)'s case-management bridge", "--public-key-file", "\(sync)/\(keyName).pub", "--may",
                "read-alerts,act-for-practitioners",
            ])
            #expect(await register.exited() == 0, "\(register.text)")
            let gatewayID = try #require(
                register.text.firstMatch(of: /registered (gw-[a-z0-9]+)/).map { String($0.1) }, "\(register.text)")
            try await stack.waitUntilAdmitted(keyFile: "\(sync)/\(keyName).key")

            let child = children[run]
            let brokers = try stack.state.brokers.map { "broker = \($0.endpoint) \($0.publicKeyFile)" }
            let config =
                brokers + [
                    "key-file = \(sync)/\(keyName).key",
                    "email = \(person.email)", "password = \(practitioner.password)",
                    "totp-secret-hex = \(practitioner.otp.secret.map { String(format: "%02x", $0) }.joined())",
                    "other-email = \(gateways[1 - run].email)", "other-password = \(other.password)",
                    "other-totp-secret-hex = \(other.otp.secret.map { String(format: "%02x", $0) }.joined())",
                    "foreign-token = \(people.practitionerToken)",
                    "sync-dir = \(sync)", "child-given = \(child.given)", "child-family = \(child.family)",
                    "child-born = \(child.born)",
                ]
            try config.joined(separator: "\n").write(toFile: "\(sync)/config", atomically: true, encoding: .utf8)
            let check = try RunningProcess(program, ["\(sync)/config"], name: "sdk-check")

            // Sam's school records its involvement with the child while the program follows the alerts
            try await check.waitForOutput(containing: "step: following alerts", timeout: .seconds(60))
            let childID = try #require(
                check.text.firstMatch(of: /step: child (\d+)/).map { String($0.1) }, "\(check.text)")
            try stack.saveSession(people.practitionerToken)
            let record = try cli([
                "involvement", "record", childID, "--service", "educational-setting", "--organisation-name",
                "Hillside Primary", "--contact-name", "Sam Carter", "--contact-role", "Deputy head", "--telephone",
                "020 7946 0999",
            ])
            #expect(await record.exited() == 0, "\(record.text)")
            let involvementID = try #require(
                record.text.firstMatch(of: /inv-[a-z0-9]+/).map { String($0.0) }, "\(record.text)")

            // and raises an indicator while the program's follower is away
            try await check.waitForOutput(containing: "step: follower closed", timeout: .seconds(60))
            let raise = try cli(["involvement", "indicator", "raise", involvementID, "information-to-share"])
            #expect(await raise.exited() == 0, "\(raise.text)")
            FileManager.default.createFile(atPath: "\(sync)/alert-raised-while-away", contents: nil)

            try await check.waitForOutput(containing: "step: kill a broker", timeout: .seconds(60))
            kill(try stack.pid(of: "broker-\(run + 1)"), SIGKILL)
            FileManager.default.createFile(atPath: "\(sync)/broker-killed", contents: nil)

            try await check.waitForOutput(containing: "step: revoke the gateway", timeout: .seconds(60))
            try stack.saveSession(people.administratorToken)
            let revoke = try cli(["admin", "gateways", "revoke", gatewayID])
            #expect(await revoke.exited() == 0, "\(revoke.text)")
            FileManager.default.createFile(atPath: "\(sync)/gateway-revoked", contents: nil)

            let status = await check.exited()
            #expect(
                status == 0 && check.text.contains(" passed, 0 failed") && !check.text.contains("Sanitizer"),
                "\(program):\n\(check.text)")
            try await stack.waitForStatus("broker-\(run + 1) back") { $0.isHealthy }
        }

        // The audit trail records the route: the searches came through the gateways
        let login = try RunningProcess(
            "contactpoint", ["login", "--email", people.auditorEmail, "--data-dir", stack.directory.root],
            name: "login",
            input: "\(people.auditorPassword)\n\(people.auditorOTP.code(at: Int64(Date().timeIntervalSince1970)))\n")
        #expect(await login.exited() == 0, "\(login.text)")
        try await eventually("searches through the gateways in the audit trail", every: .milliseconds(250)) {
            let events = try cli(["audit", "events", "--limit", "500", "--json"])
            _ = await events.exited()
            let throughGateways = events.text.split(separator: "\n").filter {
                $0.contains("\"index/search\"") && $0.contains("\"route\":\"gateway:")
            }
            return throughGateways.count >= 2
        }

        // The sample bridge (examples/c), built as a C programmer would against the installed
        // library, for Riverside: a colleague of Asha's signs in through it and looks the child up;
        // it prints the surgery's alerts (Asha's two) as JSON lines, then resumes from its cursor file
        try await runSampleBridge(
            stack, people: people, organisationID: try #require(people.notSignedIn[gateways[0].email]).organisationID,
            child: children[0], work: work)
    }

    func runSampleBridge(
        _ stack: LocalStack, people: LocalStack.AuditPeople, organisationID: String, child: ChildRecordSample,
        work: String
    ) async throws {
        let prefix = "\(work)/installed"
        let install = try RunningProcess(
            try RunningProcess.onPath("make"),
            ["-C", Self.sdkDirectory, "BUILD=\(Self.buildRoot)/plain", "PREFIX=\(prefix)", "install"], name: "make")
        #expect(await install.exited() == 0, "\(install.text)")
        let bridgeSource = OtherLanguageClientTests.repositoryRoot.appendingPathComponent("examples/c").path
        try FileManager.default.createDirectory(atPath: "\(work)/bridge", withIntermediateDirectories: true)
        let build = try RunningProcess(
            try RunningProcess.onPath("make"),
            ["-C", "\(work)/bridge", "-f", "\(bridgeSource)/Makefile", "VPATH=\(bridgeSource)", "alert-bridge"],
            name: "make", environment: ["PKG_CONFIG_PATH": "\(prefix)/lib/pkgconfig"])
        #expect(await build.exited() == 0, "\(build.text)")
        let bridge = "\(work)/bridge/alert-bridge"

        let (password, otp) = (
            "quiet harbour bridge colleague",
            try await stack.enrolColleague(
                of: organisationID, email: "lee@riverside.example", password: "quiet harbour bridge colleague",
                administratorToken: people.administratorToken)
        )
        let keys = try RunningProcess(
            "contactpoint", ["keys", "generate", "bridge", "--directory", work], name: "keys")
        #expect(await keys.exited() == 0)
        try stack.saveSession(people.administratorToken)
        let register = try RunningProcess(
            "contactpoint",
            [
                "admin", "gateways", "register", "--organisation", organisationID, "--name", "Riverside EMIS bridge",
                "--public-key-file", "\(work)/bridge.pub", "--may", "read-alerts,act-for-practitioners", "--data-dir",
                stack.directory.root,
            ], name: "register")
        #expect(await register.exited() == 0, "\(register.text)")
        try await stack.waitUntilAdmitted(keyFile: "\(work)/bridge.key")

        let brokers = try stack.state.brokers.flatMap { ["--broker", "\($0.endpoint),\($0.publicKeyFile)"] }
        let common = brokers + ["--key-file", "\(work)/bridge.key", "--cursor-file", "\(work)/bridge.cursor"]
        let first = try RunningProcess(
            bridge,
            common + [
                "--email", "lee@riverside.example", "--given", String(child.given), "--family", child.family, "--born",
                child.born, "--max-alerts", "2",
            ], name: "alert-bridge",
            input: "\(password)\n\(otp.code(at: Int64(Date().timeIntervalSince1970)))\n")
        #expect(await first.exited() == 0, "\(first.text)")
        let lines = first.text.split(separator: "\n")
        #expect(lines.first?.hasPrefix("{\"type\":\"signed-in\"") == true, "\(first.text)")
        #expect(lines.contains { $0.hasPrefix("{\"type\":\"child\"") && $0.contains("Dr C Gateway") }, "\(first.text)")
        let alerts = lines.filter { $0.hasPrefix("{\"type\":\"alert\"") }
        #expect(
            alerts.count == 2 && alerts[0].contains("involvement-recorded") && alerts[1].contains("indicator-raised"),
            "\(first.text)")
        #expect(alerts.allSatisfy { $0.contains("Hillside Primary") && $0.contains("020 7946 0999") }, "\(first.text)")

        // Started again: from its cursor, nothing is repeated
        let again = try RunningProcess(
            bridge, common + ["--follow-seconds", "2"], name: "alert-bridge")
        #expect(await again.exited() == 0, "\(again.text)")
        #expect(!again.text.contains("\"alert\""), "\(again.text)")

        // A system registered only to relay sign-in reads no alerts with its own key
        let keys2 = try RunningProcess(
            "contactpoint", ["keys", "generate", "relay", "--directory", work], name: "keys")
        #expect(await keys2.exited() == 0)
        let relayOnly = try RunningProcess(
            "contactpoint",
            [
                "admin", "gateways", "register", "--organisation", organisationID, "--name", "Riverside sign-in relay",
                "--public-key-file", "\(work)/relay.pub", "--may", "act-for-practitioners", "--data-dir",
                stack.directory.root,
            ], name: "register")
        #expect(await relayOnly.exited() == 0, "\(relayOnly.text)")
        #expect(relayOnly.text.contains("it may: act-for-practitioners"), "\(relayOnly.text)")
        try await stack.waitUntilAdmitted(keyFile: "\(work)/relay.key", readsAlerts: false)
        let refused = try RunningProcess(
            bridge, brokers + ["--key-file", "\(work)/relay.key", "--follow-seconds", "2"], name: "alert-bridge")
        #expect(await refused.exited() == 1, "\(refused.text)")
        #expect(
            refused.text.contains("PERMISSION_DENIED") && refused.text.contains("not registered to read"),
            "\(refused.text)")
    }
}

/// The names and date of birth a test searches a child by.
struct ChildRecordSample: Sendable {
    var given: String
    var family: String
    var born: String
}

extension LocalStack {
    /// Creates and enrols a practitioner of `organisationID` (their current code step left
    /// unused); returns their authenticator.
    func enrolColleague(of organisationID: String, email: String, password: String, administratorToken: String)
        async throws -> OneTimePassword
    {
        try await withIdentityClients { identity, administration in
            let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
            let created = try await administration.createPractitioner(
                .with {
                    $0.organisationID = organisationID
                    $0.name = "Lee Hart"
                    $0.email = email
                    $0.jobRole = "Practice manager"
                    $0.vetting = .with {
                        $0.criminalRecordsCheckedOn = today
                        $0.criminalRecordsReference = "001234567891"
                        $0.trainingCompletedOn = today
                        $0.userAgreementAcceptedOn = today
                    }
                }, metadata: ["authorization": "Bearer \(administratorToken)"])
            return try await enrol(identity, email: email, code: created.enrolmentCode, password: password)
        }
    }

    /// Waits until every broker admits the key pair in `keyFile` (a gateway just registered: the
    /// brokers read the registry every 2 s) — and, for a gateway that reads alerts, until the
    /// notification service serves it (it reads the registry on its own clock): a call through
    /// each broker is answered.
    func waitUntilAdmitted(keyFile: String, readsAlerts: Bool = true) async throws {
        let keyPair = try KeyFile.readKeyPair(at: keyFile)
        for broker in try state.brokers {
            let address = BrokerAddress(
                endpoint: broker.endpoint, publicKey: try KeyFile.readPublicKey(at: broker.publicKeyFile))
            try await eventually("\(broker.name) admits \(keyFile)", every: .milliseconds(250)) {
                let config = BusClientTransport.Config(brokers: [address], keyPair: keyPair)
                return try await withGRPCClient(transport: try BusClientTransport(config: config)) { client in
                    var options = CallOptions.defaults
                    options.timeout = .seconds(1)
                    do {
                        if readsAlerts {
                            _ = try await Contactpoint_V1_Notification.Client(wrapping: client).listAlerts(
                                .init(), options: options)
                        } else {
                            _ = try await Contactpoint_V1_Echo.Client(wrapping: client).get(
                                .with { $0.text = "admitted?" }, options: options)
                        }
                        return true
                    } catch {
                        return false
                    }
                }
            }
        }
    }
}

import Foundation
import Index
import SecurityPrimitives
import Supervisor
import TestSupport
import Testing

/// The web portal in real headless Chromium (`Tests/Browser/portal_browser_test.py`, Selenium
/// from Debian) against a stack run by the real `contactpoint up`: sign-in with TOTP, the
/// security headers and cookie flags, search and record with reasons, forged forms refused,
/// an alert arriving live, the idle warning, a passkey made by Chromium's virtual authenticator
/// and signing in with it (its assertion replayed is refused), sign-out; then the auditor finds
/// both accesses, with their reasons, made through the portal.
///
/// `PORTAL_SCREENSHOTS=DIRECTORY` keeps the pages' screenshots there (docs/PORTAL.md's).
@Suite("The portal in a real browser", .serialized, .timeLimit(.minutes(5)))
struct PortalBrowserTests {
    static let script = OtherLanguageClientTests.repositoryRoot.appendingPathComponent(
        "Tests/Browser/portal_browser_test.py"
    ).path
    /// Short, so that the idle warning (two minutes before) comes within seconds.
    static let idleSeconds = 135

    @Test("sign in (TOTP, passkey), headers, search and view with reasons, CSRF, live alerts, idle warning, audited")
    func browserSuite() async throws {
        let stack = try await LocalStack.start(
            environment: ["CONTACTPOINT_SESSION_IDLE_TIMEOUT": "\(Self.idleSeconds)s"])
        try await stack.waitForStatus("healthy") { $0.isHealthy }
        let portal = try #require(try stack.state.portal, "stack.json names no portal")
        let asha = LocalStack.OtherPerson(
            name: "Asha Patel", email: "asha@riverside.example", organisation: ("gp-practice", "Riverside Surgery"))
        let people = try await stack.enrolAuditorAndPractitioner(others: [asha])
        let samUsedStep = Int64(Date().timeIntervalSince1970) / 30
        let cli = { (arguments: [String], token: String) in
            try stack.saveSession(token)
            return try RunningProcess(
                "contactpoint", arguments + ["--data-dir", stack.directory.root], name: arguments[0])
        }

        // Children to find
        let work = "\(stack.directory.root)/browser"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let seed = try RunningProcess(
            "contactpoint", ["seed", "--children", "50", "--output", "\(work)/children.feed"], name: "seed")
        #expect(await seed.exited() == 0, "\(seed.text)")
        let load = try cli(["children", "load", "\(work)/children.feed"], people.administratorToken)
        #expect(await load.exited() == 0, "\(load.text)")
        var generator = PopulationGenerator(seed: 1)
        let child = generator.next().child

        var config: [String: Any] = [
            "url": portal, "idleSeconds": Self.idleSeconds,
            // Unpacked by scripts/install-dependencies.sh.
            "axe": OtherLanguageClientTests.repositoryRoot.appendingPathComponent(".build/axe/axe.min.js").path,
            "sam": [
                "email": people.practitionerEmail, "password": people.practitionerPassword,
                "totpSecretHex": people.practitionerOTP.secret.map { String(format: "%02x", $0) }.joined(),
                "usedStep": samUsedStep,
            ],
            "child": [
                "given": String(child.name.given.split(separator: " ")[0]), "family": child.name.family,
                "born": child.dateOfBirth,
            ],
        ]
        if let screenshots = ProcessInfo.processInfo.environment["PORTAL_SCREENSHOTS"] {
            config["screenshots"] = screenshots
        }
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: "\(work)/config.json"))
        let browser = try RunningProcess("/usr/bin/python3", [Self.script, "\(work)/config.json"], name: "browser")

        // Sam's school is involved with the child he looked up; then, while his alerts page is
        // open, Asha's surgery records its involvement: the alert must appear on the page
        try await browser.waitForOutput(containing: "child-id: ", timeout: .seconds(120))
        let childID = try #require(
            browser.text.firstMatch(of: /child-id: (\d+)/).map { String($0.1) }, "\(browser.text)")
        let school = try cli(
            [
                "involvement", "record", childID, "--service", "educational-setting", "--organisation-name",
                "Hillside Primary", "--contact-name", "Sam Carter", "--contact-role", "Deputy head", "--telephone",
                "020 7946 0999",
            ], people.practitionerToken)
        #expect(await school.exited() == 0, "\(school.text)")
        try await browser.waitForOutput(containing: "step: alerts open", timeout: .seconds(60))
        let surgery = try cli(
            [
                "involvement", "record", childID, "--service", "gp-practice", "--organisation-name",
                "Riverside Surgery", "--contact-name", "Asha Patel", "--contact-role", "GP", "--telephone",
                "020 7946 0123",
            ], try #require(people.others[asha.email]).token)
        #expect(await surgery.exited() == 0, "\(surgery.text)")

        let status = await browser.exited()
        #expect(status == 0 && browser.text.contains(" passed, 0 failed"), "\(browser.text)")
        for essential in [
            "signed in with password and TOTP", "the passkey made by Chromium is accepted",
            "signed in with password and passkey", "a replayed passkey assertion is refused",
            "another agency's involvement appears in the open inbox without reloading",
            "the alert reads as acknowledged",
            "axe: no WCAG 2.2 AA violation on record", "the record reflows at 320 px without scrolling sideways",
            "after the code, the passkey is gone",
        ] {
            #expect(browser.text.contains("ok   \(essential)"), "\(essential): \(browser.text)")
        }

        // The auditor sees Sam's search and view, through the portal, with their reasons
        let login = try RunningProcess(
            "contactpoint", ["login", "--email", people.auditorEmail, "--data-dir", stack.directory.root],
            name: "login",
            input: "\(people.auditorPassword)\n\(people.auditorOTP.code(at: Int64(Date().timeIntervalSince1970)))\n")
        #expect(await login.exited() == 0, "\(login.text)")
        try await eventually("the portal's accesses in the audit trail", every: .milliseconds(250)) {
            let events = try RunningProcess(
                "contactpoint", ["audit", "events", "--limit", "500", "--json", "--data-dir", stack.directory.root],
                name: "events")
            _ = await events.exited()
            let sams = events.text.split(separator: "\n").filter {
                $0.contains(people.practitionerID) && $0.contains("\"route\":\"portal\"")
            }
            return sams.contains { $0.contains("\"index/search\"") && $0.contains("contact-practitioners") }
                && sams.contains { $0.contains("\"index/view-record\"") && $0.contains("safeguarding-concern") }
        }
    }
}

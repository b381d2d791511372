import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import Index
import Supervisor
import TestSupport
import Testing

/// The index in a real stack: a seeded feed loaded from the command line, a practitioner's
/// search, view and involvement from the command line, their access events in the audit trail,
/// and kill -9 of the index during writes.
@Suite("Index end to end", .timeLimit(.minutes(3)))
struct IndexEndToEndTests {
    @Test("seed and load a feed, search, view, record and flag from the CLI; the accesses reach the audit trail")
    func practitionerJourney() async throws {
        let stack = try await LocalStack.start()
        try await stack.waitForStatus("healthy") { $0.isHealthy }
        let people = try await stack.enrolAuditorAndPractitioner()
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: config) }
        let cli = { (arguments: [String]) in
            try RunningProcess("contactpoint", arguments + ["--data-dir", stack.directory.root], name: arguments[0])
        }
        try FileManager.default.createDirectory(atPath: config, withIntermediateDirectories: true)

        // The administrator seeds 300 children and loads them through the index
        let feed = "\(config)/children.feed"
        let seed = try RunningProcess("contactpoint", ["seed", "--children", "300", "--output", feed], name: "seed")
        #expect(await seed.exited() == 0, "\(seed.text)")
        try stack.saveSession(people.administratorToken)
        let load = try cli(["children", "load", feed, "--batch-size", "128"])
        #expect(await load.exited() == 0, "\(load.text)")
        #expect(load.text.contains("loaded 300 children (300 new, 0 updated)"), "\(load.text)")
        // The operator loads another feed straight into the running index's database
        let second = "\(config)/more.feed"
        let seedMore = try RunningProcess(
            "contactpoint", ["seed", "--children", "200", "--seed", "9", "--output", second], name: "seed")
        #expect(await seedMore.exited() == 0)
        let direct = try cli([
            "children", "load", second, "--database", "\(stack.directory.dataDirectory(service: "index"))/index.sqlite",
        ])
        #expect(await direct.exited() == 0, "\(direct.text)")
        #expect(direct.text.contains("loaded 200 children (200 new, 0 updated)"), "\(direct.text)")

        // The practitioner finds a child of that feed by a misspelt name and views the record
        var generator = PopulationGenerator(seed: 1)
        let wanted = (0..<50).map { _ in generator.next().child }.first {
            $0.name.family.count > 4 && !$0.name.family.contains("-")
        }!
        let misspelt = String(wanted.name.family.prefix(2)) + String(wanted.name.family.dropFirst(3))
        try stack.saveSession(people.practitionerToken)
        let search = try cli([
            "search", "--given", String(wanted.name.given.split(separator: " ")[0]), "--family", misspelt, "--born",
            wanted.dateOfBirth,
            "--reason", "contact-practitioners",
        ])
        #expect(await search.exited() == 0, "\(search.text)")
        let lines = search.text.split(separator: "\n")
        #expect(lines.first?.hasPrefix("CHILD ID") == true && lines.first?.contains("MATCH") == true, "\(search.text)")
        let firstLine = try #require(lines.dropFirst().first)
        #expect(firstLine.contains(wanted.name.family) && firstLine.contains(wanted.dateOfBirth), "\(search.text)")
        let childID = String(firstLine.split(separator: " ")[0])

        // Scripts and gateways read the same answers as JSON
        let json = try cli([
            "search", "--given", String(wanted.name.given.split(separator: " ")[0]), "--family", misspelt, "--born",
            wanted.dateOfBirth, "--reason", "contact-practitioners", "--json",
        ])
        #expect(await json.exited() == 0, "\(json.text)")
        let parsed = try Contactpoint_V1_SearchChildrenResponse(jsonString: json.text)
        #expect(parsed.matches.first?.childID == childID, "\(json.text)")
        let viewJSON = try cli(["view", childID, "--reason", "contact-practitioners", "--json"])
        #expect(await viewJSON.exited() == 0, "\(viewJSON.text)")
        #expect(try Contactpoint_V1_ChildRecord(jsonString: viewJSON.text).child.childID == childID)

        let noReason = try cli(["view", childID])
        #expect(await noReason.exited() != 0)
        // Errors speak of the flags typed, not of protobuf fields; a bad choice lists the good ones, alone
        let vague = try cli(["search", "--given", "oliver", "--reason", "contact-practitioners"])
        #expect(await vague.exited() != 0)
        #expect(vague.text.contains("--family: give a given and a family name"), "\(vague.text)")
        let badReason = try cli(["search", "--given", "oliver", "--family", "moore", "--reason", "curiosity"])
        #expect(await badReason.exited() == 64, "a usage error, as ArgumentParser's own")
        #expect(badReason.text.contains("--reason: one of contact-practitioners"), "\(badReason.text)")
        #expect(!badReason.text.contains("Usage: contactpoint <subcommand>"), "\(badReason.text)")
        // A date of the right shape that is no date says so
        let noSuchDay = try cli([
            "search", "--given", "oliver", "--family", "moore", "--born", "2011-13-45", "--reason",
            "contact-practitioners",
        ])
        #expect(await noSuchDay.exited() != 0)
        #expect(noSuchDay.text.contains("--born: a date as YYYY-MM-DD, from 1900 on, that exists"), "\(noSuchDay.text)")
        // A positional argument is named as one
        let badKind = try cli(["involvement", "indicator", "raise", "inv-aaaaaaaaaaaaa", "urgent"])
        #expect(await badKind.exited() == 64)
        #expect(badKind.text.contains("KIND: one of information-to-share"), "\(badKind.text)")
        var directGenerator = PopulationGenerator(seed: 9)
        let directChild = directGenerator.next().child
        let fromDirect = try cli([
            "search", "--given", String(directChild.name.given.split(separator: " ")[0]), "--family",
            directChild.name.family,
            "--born", directChild.dateOfBirth, "--reason", "contact-practitioners",
        ])
        #expect(await fromDirect.exited() == 0)
        #expect(
            fromDirect.text.split(separator: "\n").dropFirst().first?.contains(directChild.name.family) == true,
            "\(fromDirect.text)")

        let view = try cli(["view", childID, "--reason", "contact-practitioners"])
        #expect(await view.exited() == 0, "\(view.text)")
        #expect(view.text.contains("gp-practice") && view.text.contains(wanted.address.postcode), "\(view.text)")

        // Sam's school records its involvement and raises an indicator
        let record = try cli([
            "involvement", "record", childID, "--service", "educational-setting", "--organisation-name",
            "Hillside Primary",
            "--contact-name", "Sam Carter", "--contact-role", "Deputy head", "--telephone", "020 7946 0999",
        ])
        #expect(await record.exited() == 0, "\(record.text)")
        let involvementID = try #require(record.text.firstMatch(of: /recorded involvement (inv-[0-9a-z]{13})/)?.1)
            .description
        let raise = try cli(["involvement", "indicator", "raise", involvementID, "information-to-share"])
        #expect(await raise.exited() == 0, "\(raise.text)")
        #expect(raise.text.contains("information-to-share"))
        let again = try cli(["view", childID, "--reason", "caf-assessment"])
        #expect(await again.exited() == 0)
        #expect(
            again.text.contains("Hillside Primary") && again.text.contains("information-to-share since"),
            "\(again.text)")

        // The search and views reach the audit trail through the index's outbox
        let auditor = try await stack.withIdentityClient { identity in
            try await identity.login(
                .with {
                    $0.email = people.auditorEmail
                    $0.password = people.auditorPassword
                    $0.totpCode = people.auditorOTP.code(at: Int64(Date().timeIntervalSince1970))
                }
            ).token
        }
        let reasons = try await eventually("five accesses in the subject-access report", every: .milliseconds(250)) {
            let report = try await withGRPCClient(
                transport: try BusClientTransport(config: stack.operatorClientConfig())
            ) { client in
                try await Contactpoint_V1_Audit.Client(wrapping: client).subjectAccess(
                    .with { $0.childID = childID }, metadata: ["authorization": "Bearer \(auditor)"])
            }
            let reasons = report.entries.map(\.reasonCode)
            return reasons.count >= 5 ? reasons : nil
        }
        // The search, its JSON twin, the JSON view, the view, and the view after the involvement
        #expect(reasons == Array(repeating: "contact-practitioners", count: 4) + ["caf-assessment"], "\(reasons)")
    }

    @Test("kill -9 of the index during a burst of involvements loses no acknowledged write")
    func killDuringWrites() async throws {
        let stack = try await LocalStack.start()
        try await stack.waitForStatus("healthy") { $0.isHealthy }
        let people = try await stack.enrolAuditorAndPractitioner()
        var config = try stack.operatorClientConfig()
        config.retryUnavailable(services: [Contactpoint_V1_Index.descriptor.fullyQualifiedService])
        let administrator: Metadata = ["authorization": "Bearer \(people.administratorToken)"]
        let practitioner: Metadata = ["authorization": "Bearer \(people.practitionerToken)"]
        var generator = PopulationGenerator(seed: 7)
        let entry = generator.next()
        let childID = try await withGRPCClient(transport: try BusClientTransport(config: config)) { client in
            try await Contactpoint_V1_Index.Client(wrapping: client).putChildren(
                .with { $0.children = [entry] }, metadata: administrator
            ).childIds[0]
        }
        let indexPID = try stack.pid(of: "index-1")
        let acknowledged = try await withGRPCClient(
            transport: try BusClientTransport(config: try stack.operatorClientConfig())
        ) { client in
            let index = Contactpoint_V1_Index.Client(wrapping: client)
            return try await stack.burst(callers: 6, killing: "index-1") { caller in
                let involvement = try await index.recordInvolvement(
                    .with {
                        $0.childID = childID
                        $0.involvement = .with {
                            $0.serviceType = .voluntaryService
                            $0.organisationName = "Hillside Primary"
                            $0.contact = .with {
                                $0.name = "Sam Carter"
                                $0.role = "Caller \(caller)"
                                $0.telephone = "020 7946 0999"
                            }
                        }
                    }, metadata: practitioner)
                return [involvement.involvementID]
            }
        }
        #expect(!acknowledged.isEmpty, "some of the burst was acknowledged, so the check below can fail")
        try await stack.waitForStatus("index restarted") { report in
            report.isHealthy && report.processes.contains { $0.name == "index-1" && $0.pid != indexPID }
        }
        let stored = try await withGRPCClient(transport: try BusClientTransport(config: config)) { client in
            try await Contactpoint_V1_Index.Client(wrapping: client).viewRecord(
                .with {
                    $0.childID = childID
                    $0.reason = .with { $0.code = .recordMaintenance }
                }, metadata: practitioner)
        }
        let storedIDs = Set(stored.involvements.map(\.involvementID))
        #expect(Set(acknowledged).isSubset(of: storedIDs), "lost: \(Set(acknowledged).subtracting(storedIDs))")
    }
}

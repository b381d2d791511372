import ArgumentParser
import Audit
import BusTransport
import ContactPointAPI
import DurableFiles
import Foundation
import GRPCCore
import SecurityPrimitives
import SwiftProtobuf
import Timekeeping

/// `contactpoint audit`: check the trail, review it, and answer subject-access requests.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The audit trail: verify it, query it, work the review queue, report subject access.",
        subcommands: [Verify.self, Monitor.self, Events.self, Review.self, SubjectAccess.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the log from its stored events and check every signed tree head and checkpoint.",
            discussion: """
                Reads the database file directly (no service needed). Give the checkpoint directory you keep \
                elsewhere to check the log against heads no one on this host could have changed. Exit status 1 \
                if anything does not verify.
                """)
        @Option(help: "The audit database (default: the local stack's).")
        var database: String?
        @Option(help: "A directory of exported checkpoints (default: the local stack's).")
        var checkpoints: String?
        @Option(help: "The tree-head public key file (default: audit-signing-key.pub in the checkpoint directory).")
        var publicKey: String?
        @Option(
            help:
                """
                The data directory of the local stack (default: $CONTACTPOINT_DATA_DIR or \
                ~/.local/share/contactpoint).
                """
        )
        var dataDir: String?

        func run() throws {
            let stack = BusClientOptions.stackDirectory(dataDir).dataDirectory(service: "audit")
            let checkpointDirectory = checkpoints ?? "\(stack)/checkpoints"
            let key = try treeHeadKey(publicKey, checkpoints: checkpointDirectory)
            let report = try AuditVerifier.verify(
                database: database ?? "\(stack)/audit.sqlite", checkpointDirectory: checkpointDirectory, publicKey: key)
            print(
                """
                \(report.events) events; \(report.databaseHeads) signed heads in the database, \
                \(report.checkpointFiles) checkpoint files
                """
            )
            if report.unsignedEvents > 0 {
                print(
                    """
                    \(report.unsignedEvents) events after the newest signed head (size \
                    \(report.newestSignedSize)): no signature covers them yet
                    """
                )
            }
            if report.indexedEvents == nil {
                print("no query index file: the audit service builds it from the events when it starts")
            } else if report.unindexedEvents > 0 {
                print(
                    """
                    \(report.unindexedEvents) events not yet in the query index: the audit service adds them when \
                    it starts
                    """
                )
            }
            if report.isIntact {
                print("intact: every stored event, node, column and query index row agrees with every signed head")
            } else {
                for problem in report.problems { print("PROBLEM: \(problem)") }
                throw ExitCode(1)
            }
        }
    }

    struct Monitor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check the live log against checkpoints you hold elsewhere, then save its newest head among them.",
            discussion: """
                Needs a session (any role), not the database: asks the audit service for its newest signed tree \
                head and a consistency proof from the newest checkpoint in the directory, and checks both with \
                the public key. Run it regularly from another host with its own copy of the checkpoints. Exit \
                status 1 if the log does not extend what you hold.
                """)
        @OptionGroup var bus: BusClientOptions
        @Option(help: "Your directory of checkpoints (created if missing).")
        var checkpoints: String
        @Option(help: "The tree-head public key file (default: audit-signing-key.pub in that directory).")
        var publicKey: String?

        func run() async throws {
            let key = try treeHeadKey(publicKey, checkpoints: checkpoints)
            try DurableFile.createDirectory(checkpoints, mode: 0o755)
            let metadata = try bus.sessionMetadata()
            let held = CheckpointDirectory(path: checkpoints)
            let (live, problems) = try await withAudit(bus) { audit in
                let head = try await audit.treeHead(.init(), metadata: metadata)
                let live = Checkpoint(
                    size: head.size, rootHash: Array(head.rootHash), timestampMS: head.timestampMs, keyID: head.keyID,
                    signature: Array(head.signature))
                let problems = try await LogMonitor.check(live: live, held: held, publicKey: key) { first, second in
                    try await audit.consistencyProof(
                        .with {
                            $0.firstSize = first
                            $0.secondSize = second
                        }, metadata: metadata
                    ).path.map { Array($0) }
                }
                return (live, problems)
            }
            if problems.isEmpty {
                print(
                    """
                    consistent: the live log (size \(live.size), signed \(formatTime(live.timestampMS))) extends \
                    every checkpoint held; saved \(live.fileName)
                    """
                )
            } else {
                for problem in problems { print("PROBLEM: \(problem)") }
                throw ExitCode(1)
            }
        }
    }

    struct Events: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Query the trail (auditors; local-authority administrators for their own authority).")
        @OptionGroup var bus: BusClientOptions
        @Option(help: "Events about this child (ContactPoint ID).")
        var child = ""
        @Option(help: "Events by this practitioner (account id).")
        var practitioner = ""
        @Option(help: "Events by this organisation (id).")
        var organisation = ""
        @Option(help: "From this time (ISO 8601, e.g. 2026-11-26T09:00:00Z).")
        var since: String?
        @Option(help: "Until this time (ISO 8601).")
        var until: String?
        @Option(help: "Only events with this flag: override, denied or stepped-up.")
        var flag: String?
        @Option(help: "At most this many events, newest first.")
        var limit = 100
        @Flag(help: "One JSON object per event.")
        var json = false

        func run() async throws {
            var request = Contactpoint_V1_QueryEventsRequest.with {
                $0.childID = child
                $0.practitionerID = practitioner
                $0.organisationID = organisation
                $0.pageSize = UInt32(min(max(limit, 1), 500))
            }
            if let since { request.fromMs = try Self.milliseconds(since, option: "--since") }
            if let until { request.toMs = try Self.milliseconds(until, option: "--until") }
            switch flag {
            case nil: break
            case "override": request.flag = .override
            case "denied": request.flag = .denied
            case "stepped-up": request.flag = .steppedUp
            case let other?: throw CLIError("--flag: `\(other)` is not override, denied or stepped-up")
            }
            let metadata = try bus.sessionMetadata()
            let wanted = limit
            let first = request
            let events = try await withAudit(bus) { audit in
                var request = first
                var events: [Contactpoint_V1_LoggedEvent] = []
                repeat {
                    let page = try await audit.queryEvents(request, metadata: metadata)
                    events += page.events
                    request.pageToken = page.nextPageToken
                } while !request.pageToken.isEmpty && events.count < wanted
                return Array(events.prefix(wanted))
            }
            for logged in events {
                if json {
                    print(try logged.jsonString())
                } else {
                    let event = logged.event
                    let children = event.childIds.isEmpty ? "" : " children=\(event.childIds.joined(separator: ","))"
                    let subject = event.subjectID.isEmpty ? "" : " subject=\(event.subjectID)"
                    let reason = event.reasonCode.isEmpty ? "" : " reason=\(event.reasonCode)"
                    let actor = event.actor.practitionerID.isEmpty ? "-" : event.actor.practitionerID
                    print(
                        """
                        #\(logged.leafIndex) \(formatTime(event.occurredAtMs)) \(event.action) \
                        \(event.outcome.name) by=\(actor)\(subject)\(children)\(reason)
                        """
                    )
                }
            }
        }

        static func milliseconds(_ text: String, option: String) throws -> Int64 {
            guard let date = ISO8601DateFormatter().date(from: text) else {
                throw CLIError("\(option): `\(text)` is not an ISO 8601 time such as 2026-11-26T09:00:00Z")
            }
            return Instant(date).milliseconds
        }
    }

    struct Review: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The review queue: items the misuse rules raised.",
            subcommands: [List.self, Open.self, Close.self])

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Items not yet closed (or closed ones with --closed), newest first.")
            @OptionGroup var bus: BusClientOptions
            @Flag(help: "Closed items instead.")
            var closed = false
            @Flag(help: "Only high-priority items: shield and consent overrides.")
            var highPriority = false
            @OptionGroup var output: JSONOutput

            func run() async throws {
                let metadata = try bus.sessionMetadata()
                let request = Contactpoint_V1_ListReviewItemsRequest.with {
                    $0.status = closed ? .closed : .unspecified
                    $0.highPriorityOnly = highPriority
                }
                let items = try await withAudit(bus) { try await $0.listReviewItems(request, metadata: metadata) }
                if try output.printed(items) { return }
                if items.items.isEmpty { print(closed ? "no closed items" : "the review queue is empty") }
                for item in items.items {
                    let outcome = item.status == .closed ? " → \(item.outcome.name)" : ""
                    print(
                        """
                        \(item.itemID)  \(formatTime(item.raisedAtMs))  \
                        \(item.highPriority ? "HIGH PRIORITY " : "")\(item.rule)  \
                        practitioner=\(item.practitionerID)  events=\(ReviewText.events(of: item))  \
                        \(item.status.name)\(outcome)
                        """
                    )
                }
            }
        }

        struct Open: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Show an item and the events behind it; it becomes yours to review.")
            @OptionGroup var bus: BusClientOptions
            @Argument var item: String

            func run() async throws {
                let metadata = try bus.sessionMetadata()
                let itemID = item
                let detail = try await withAudit(bus) {
                    try await $0.openReviewItem(.with { $0.itemID = itemID }, metadata: metadata)
                }
                let item = detail.item
                let organisation =
                    item.organisationID.isEmpty
                    ? "" : " of \(item.organisationID)\(item.localAuthority.isEmpty ? "" : " (\(item.localAuthority))")"
                print("\(item.rule) — practitioner \(item.practitionerID)\(organisation), \(item.status.name)")
                for logged in detail.events {
                    let event = logged.event
                    print(
                        """
                          #\(logged.leafIndex) \(formatTime(event.occurredAtMs)) \(event.action) \
                        children=\(event.childIds.joined(separator: ",")) reason=\(event.reasonCode) \
                        \(event.outcome.name)
                        """
                    )
                }
            }
        }

        struct Close: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract:
                    """
                    Record the outcome: no-concern, advice-given, referred, or account-suspended (suspends the \
                    account).
                    """
            )
            @OptionGroup var bus: BusClientOptions
            @Argument var item: String
            @Option var outcome: String

            func run() async throws {
                let outcomes: [String: Contactpoint_V1_ReviewOutcome] = [
                    "no-concern": .noConcern, "advice-given": .adviceGiven, "referred": .referredForDisciplinaryAction,
                    "account-suspended": .accountSuspended,
                ]
                guard let chosen = outcomes[outcome] else {
                    throw CLIError(
                        "--outcome: `\(outcome)` is not one of \(outcomes.keys.sorted().joined(separator: ", "))")
                }
                let metadata = try bus.sessionMetadata()
                let itemID = item
                let closed = try await withAudit(bus) { audit in
                    try await audit.recordReviewOutcome(
                        .with {
                            $0.itemID = itemID
                            $0.outcome = chosen
                        }, metadata: metadata)
                }
                print("\(closed.itemID): closed, \(closed.outcome.name)")
            }
        }
    }

    struct SubjectAccess: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "subject-access",
            abstract: "Who accessed a child's record, when and why: the report a parent may request.")
        @OptionGroup var bus: BusClientOptions
        @Argument(help: "The child's ContactPoint ID.")
        var child: String
        @Flag(help: "JSON instead of text.")
        var json = false

        func run() async throws {
            let metadata = try bus.sessionMetadata()
            let childID = child
            let report = try await withAudit(bus) {
                try await $0.subjectAccess(.with { $0.childID = childID }, metadata: metadata)
            }
            if json {
                var options = JSONEncodingOptions()
                options.alwaysPrintEnumsAsInts = false
                print(try report.jsonString(options: options))
                return
            }
            print("Access to the ContactPoint record of \(report.childID), as of \(formatTime(report.generatedAtMs))")
            if report.entries.isEmpty { print("No one has accessed this record.") }
            if report.organisationsWithheld {
                print(
                    "The record is shielded: which organisations accessed it is withheld, as it tells where the child is."
                )
            }
            for entry in report.entries {
                let reason = [entry.reasonCode, entry.reasonText].filter { !$0.isEmpty }.joined(separator: ": ")
                let override =
                    entry.override == .none
                    ? ""
                    : "  \(entry.override.name.uppercased()) OVERRIDE (\(entry.overrideJustification))"
                let who =
                    report.organisationsWithheld
                    ? "an organisation" : "organisation \(entry.organisationID) (\(entry.localAuthority))"
                // Reads of alerts and consents give no reason of their own: the alert is the reason.
                let why = reason.isEmpty ? "" : "  reason: \(reason)"
                print(
                    """
                    \(formatTime(entry.occurredAtMs))  \(who), as \(entry.roles.joined(separator: "/"))  \
                    \(entry.action)\(why)\(override)
                    """
                )
            }
        }
    }
}

/// The tree-head public key from `file`, or else the one exported beside the checkpoints.
func treeHeadKey(_ file: String?, checkpoints: String) throws -> Ed25519.PublicKey {
    let path = file ?? "\(checkpoints)/audit-signing-key.pub"
    do {
        return try AuditVerifier.readPublicKey(path: path)
    } catch {
        throw CLIError("cannot read the tree-head public key \(path): give it with --public-key")
    }
}

/// Runs `body` with an audit client over the bus.
func withAudit<T: Sendable>(
    _ bus: BusClientOptions, _ body: @Sendable (Contactpoint_V1_Audit.Client<BusClientTransport>) async throws -> T
) async throws -> T {
    try await withBusClient(bus) { try await body(Contactpoint_V1_Audit.Client(wrapping: $0)) }
}

/// Unix milliseconds as ISO 8601 UTC.
func formatTime(_ milliseconds: Int64) -> String {
    ISO8601DateFormatter().string(from: Instant(milliseconds: milliseconds).date)
}

extension Enum {
    /// The value's Swift case name in hyphenated lower case: `accountSuspended` → `account-suspended`.
    var name: String {
        String(describing: self).reduce(into: "") { name, character in
            if character.isUppercase { name += "-" }
            name += character.lowercased()
        }
    }
}

/// Text rendering of review items for the terminal.
enum ReviewText {
    /// How many events an item has, and how many of them were refused: an override refused
    /// disclosed nothing, which an auditor should see before opening it.
    static func events(of item: Contactpoint_V1_ReviewItem) -> String {
        switch item.refusedCount {
        case 0: "\(item.eventCount)"
        case item.eventCount: "\(item.eventCount) (all refused)"
        default: "\(item.eventCount) (\(item.refusedCount) refused)"
        }
    }
}

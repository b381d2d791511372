import ArgumentParser
import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import Synchronization

/// Runs `body` with a notification client over the bus.
func withNotification<T: Sendable>(
    _ bus: BusClientOptions,
    _ body: @Sendable (Contactpoint_V1_Notification.Client<BusClientTransport>) async throws -> T
) async throws -> T {
    try await withBusClient(bus) { try await body(Contactpoint_V1_Notification.Client(wrapping: $0)) }
}

/// `contactpoint alerts`: what the other agencies involved with your children have flagged.
struct Alerts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            """
            Your alerts: another agency recorded involvement with a child you work with, raised an indicator or \
            became lead professional.
            """,
        subcommands: [List.self, Update.Ack.self, Update.Read.self, Update.ContactMade.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                """
                Your inbox, oldest first; --follow keeps it open and shows each new alert as it arrives. Every \
                read is recorded.
                """
        )
        @OptionGroup var bus: BusClientOptions
        @Flag(help: "Keep going: show new alerts as they arrive (reconnects and resumes where it left off).")
        var follow = false
        @Flag(
            help:
                """
                Your organisation's inbox (escalated alerts, and those about involvements a data feed gave) \
                instead of your own.
                """
        )
        var organisation = false
        @Option(help: "Only alerts after this cursor (an alert's sequence as listed).") var after: UInt64 = 0
        @OptionGroup var output: JSONOutput

        func run() async throws {
            let metadata = try bus.sessionMetadata()
            let organisation = organisation
            var cursor = after
            if !follow {
                repeat {
                    let request = Contactpoint_V1_ListAlertsRequest.with {
                        $0.after = cursor
                        $0.organisation = organisation
                    }
                    let page = try await withNotification(bus) { try await $0.listAlerts(request, metadata: metadata) }
                    if output.json {
                        for alert in page.alerts { _ = try output.printed(alert) }
                    } else {
                        if page.alerts.isEmpty, cursor == after { print("no alerts") }
                        for alert in page.alerts { print(AlertText.render(alert)) }
                    }
                    cursor = page.alerts.last?.sequence ?? cursor
                    if !page.more { return }
                } while true
            }
            // A subscription ends after a while (or when a broker goes): resume from the last alert seen.
            let seen = Mutex(cursor)
            while true {
                do {
                    let from = seen.withLock { $0 }
                    try await withNotification(bus) { notification in
                        var options = CallOptions.defaults
                        options.timeout = .seconds(600)
                        try await notification.subscribe(
                            .with {
                                $0.after = from
                                $0.organisation = organisation
                            }, metadata: metadata, options: options
                        ) { response in
                            for try await alert in response.messages {
                                // Unbuffered: a follower may be a pipe into another program.
                                FileHandle.standardOutput.write(Data((AlertText.render(alert) + "\n").utf8))
                                seen.withLock { $0 = alert.sequence }
                            }
                        }
                    }
                } catch let error as CLIError where [.unavailable, .deadlineExceeded].contains(error.code) {
                    try await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    enum Update {
        static func run(_ bus: BusClientOptions, _ alertID: String, _ state: Contactpoint_V1_AlertState) async throws {
            let metadata = try bus.sessionMetadata()
            let updated = try await withNotification(bus) {
                try await $0.updateAlert(
                    .with {
                        $0.alertID = alertID
                        $0.state = state
                    }, metadata: metadata)
            }
            print(AlertText.render(updated))
        }

        struct Ack: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Acknowledge an alert: you have seen it and will follow it up.")
            @OptionGroup var bus: BusClientOptions
            @Argument(help: "The alert's number.") var alertID: String
            func run() async throws { try await Update.run(bus, alertID, .acknowledged) }
        }

        struct Read: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Mark an alert read.")
            @OptionGroup var bus: BusClientOptions
            @Argument(help: "The alert's number.") var alertID: String
            func run() async throws { try await Update.run(bus, alertID, .read) }
        }

        struct ContactMade: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "contact-made",
                abstract: "Record that you and the other practitioner have talked (you are recorded as coordinating).")
            @OptionGroup var bus: BusClientOptions
            @Argument(help: "The alert's number.") var alertID: String
            func run() async throws { try await Update.run(bus, alertID, .contactMade) }
        }
    }
}

/// Text rendering of alerts for the terminal.
enum AlertText {
    static func render(_ alert: Contactpoint_V1_Alert) -> String {
        var what = alert.change
        if alert.indicator != .unspecified { what += " \(alert.indicator.name)" }
        let child = alert.child
        var about = "\(child.name.given) \(child.name.family), born \(child.dateOfBirth)"
        if !child.postcode.isEmpty { about += ", \(child.postcode)" }
        if child.shielded { about += ", shielded record" }
        let from = alert.from
        let contact = [from.contact.name, from.contact.role, from.contact.telephone, from.contact.secureEmail].filter {
            !$0.isEmpty
        }
        var lines = [
            """
            [\(alert.alertID)] \(formatTime(alert.createdAtMs))  \(alert.state.name.uppercased())  \(what)  child \
            \(alert.childID): \(about)
            """,
            child.shielded
                ? """
                  from an involved \(from.serviceType.name) service; the record is shielded: make enquiries \
                through the child's local authority's ContactPoint team
                """
                : "  from \(from.organisationName) (\(from.serviceType.name)): \(contact.joined(separator: ", "))",
        ]
        if !alert.escalatedFrom.isEmpty {
            lines.append("  escalated: alert \(alert.escalatedFrom) was not acknowledged in time")
        }
        if alert.escalatedAtMs != 0 {
            lines.append("  escalated to your organisation's inbox at \(formatTime(alert.escalatedAtMs))")
        }
        if !alert.updatedBy.isEmpty, alert.state != .new {
            let who = alert.updatedByName.isEmpty ? alert.updatedBy : "\(alert.updatedByName) (\(alert.updatedBy))"
            lines.append("  \(alert.state.name) by \(who)")
        }
        return lines.joined(separator: "\n")
    }
}

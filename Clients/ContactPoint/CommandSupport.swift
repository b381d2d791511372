import ArgumentParser
import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import ServiceRuntime
import SwiftProtobuf

// What every command uses: calls over the bus with the stored session, enumeration arguments,
// and the one-line failure.

// MARK: Calls

/// Runs `body` with a gRPC client over the bus, turning RPC errors into one clear line.
func withBusClient<T: Sendable>(
    _ bus: BusClientOptions, _ body: @Sendable (GRPCClient<BusClientTransport>) async throws -> T
) async throws -> T {
    let connection = withConfiguration { () throws(ConfigurationError) in try bus.connection() }
    var config = BusClientTransport.Config(brokers: connection.brokers, keyPair: connection.keyPair)
    config.retryUnavailable(methods: idempotentCalls + IdempotencyKey.keyedWrites)
    do {
        return try await withGRPCClient(transport: try BusClientTransport(config: config)) { client in
            await refreshStoredSession(bus.sessionFile, client)
            return try await body(client)
        }
    } catch let error as RPCError {
        // A session that expired or was ended (logout, suspension) is the practitioner's to renew.
        let renew =
            error.code == .unauthenticated && error.message.hasPrefix("the session has")
            ? ": log in again with `contactpoint login --email YOUR-EMAIL`" : ""
        throw CLIError("\(FlagNames.naming(error.message)) (\(error.code))\(renew)", code: error.code)
    }
}

/// The command-line names of the request fields services name in their errors ("given_name:
/// …" is what `--given` said), so that an error speaks of what the user typed.
enum FlagNames {
    static let byField: [String: String] = [
        "given_name": "--given", "family_name": "--family", "date_of_birth": "--born", "born_from": "--born-from",
        "born_to": "--born-to", "postcode": "--postcode", "local_authority": "--local-authority",
        "child_id": "CHILD-ID", "reason.code": "--reason", "reason.text": "--reason-text",
        "involvement.organisation_name": "--organisation-name", "involvement.contact.name": "--contact-name",
        "involvement.contact.role": "--contact-role", "involvement.contact.telephone": "--telephone",
        "involvement.contact.email": "--email", "involvement.start_date": "--start", "end_date": "--on",
        "given_on": "--consent-given-on", "capacity_assessed_on": "--capacity-assessed-on",
        "giver_name.given": "--parent-given", "giver_name.family": "--parent-family", "expires_on": "--expires-on",
    ]

    /// `message` with a leading field name replaced by its flag.
    static func naming(_ message: String) -> String {
        guard let colon = message.firstIndex(of: ":"), let flag = byField[String(message[..<colon])] else {
            return message
        }
        return flag + message[colon...]
    }
}

/// Keeps the stored session alive while it is used, as the login banner promises (15 minutes
/// idle, 12 hours at most): once half its token's life has passed, a command exchanges it for a
/// fresh one (Identity/Refresh, which never goes past the session's absolute end). A refresh that
/// fails changes nothing: the command's own call then says what is wrong.
func refreshStoredSession(_ session: SessionFile, _ client: GRPCClient<BusClientTransport>) async {
    guard let token = try? session.load(), let life = SessionFile.lifetime(of: token) else { return }
    let now = Int64(Date().timeIntervalSince1970)
    guard now < life.expiresAt, now - life.issuedAt >= (life.expiresAt - life.issuedAt) / 2 else { return }
    let identity = Contactpoint_V1_Identity.Client(wrapping: client)
    guard let grant = try? await identity.refresh(.init(), metadata: ["authorization": "Bearer \(token)"]) else {
        return
    }
    try? session.save(grant.token)
}

/// The calls the CLI makes that may be made twice without harm, retried on another instance when
/// the one serving them died (UNAVAILABLE), within the call's deadline: reads (a read of a child's
/// record made twice is audited twice, which is the truth), and the keyed writes, each call of
/// which carries its own idempotency key (`Metadata.withNewIdempotencyKey()`). Other writes could
/// be recorded twice.
let idempotentCalls: [MethodDescriptor] = [
    Contactpoint_V1_Index.Method.SearchChildren.descriptor, Contactpoint_V1_Index.Method.ViewRecord.descriptor,
    Contactpoint_V1_Audit.Method.TreeHead.descriptor, Contactpoint_V1_Audit.Method.InclusionProof.descriptor,
    Contactpoint_V1_Audit.Method.ConsistencyProof.descriptor, Contactpoint_V1_Audit.Method.QueryEvents.descriptor,
    Contactpoint_V1_Audit.Method.ListReviewItems.descriptor, Contactpoint_V1_Audit.Method.OpenReviewItem.descriptor,
    Contactpoint_V1_Audit.Method.SubjectAccess.descriptor,
    Contactpoint_V1_Notification.Method.ListAlerts.descriptor,
    Contactpoint_V1_Notification.Method.ListNotices.descriptor,
    Contactpoint_V1_Consent.Method.ListConsents.descriptor,
    Contactpoint_V1_Identity.Method.WhoAmI.descriptor, Contactpoint_V1_Identity.Method.ListSessions.descriptor,
]

// MARK: Arguments

/// A protobuf enumeration value given by its hyphenated case name (`contact-practitioners`).
/// `argument` is what the user typed it as: a flag (`--reason`) or a positional argument (`KIND`).
/// A bad choice is a usage error (exit 64, as ArgumentParser's own), said in one line: not a
/// ValidationError, which ArgumentParser would follow with the top command's usage line.
func enumValue<E: Enum & CaseIterable>(_ text: String, _ argument: String) throws -> E {
    guard let value = E.allCases.first(where: { $0.rawValue != 0 && $0.name == text }) else {
        let choices = E.allCases.filter { $0.rawValue != 0 }.map(\.name).joined(separator: ", ")
        FileHandle.standardError.write(Data("Error: \(argument): one of \(choices)\n".utf8))
        throw ExitCode.validationFailure
    }
    return value
}

// MARK: Failures

/// A failure the command-line client explains in one line.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    /// The status of the call that failed, if one did.
    var code: RPCError.Code?
    init(_ description: String, code: RPCError.Code? = nil) {
        self.description = description
        self.code = code
    }
}

/// Rows in aligned columns, the first row their headings.
func printColumns(_ rows: [[String]]) {
    let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    for row in rows {
        print(
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces))
    }
}

/// `--json`: a command prints the service's answer as JSON (the protobuf JSON mapping, enum
/// values by name), one object per line, for scripts and gateways to parse.
struct JSONOutput: ParsableArguments {
    @Flag(help: "Print the answer as JSON (the protobuf JSON mapping), one object per line.")
    var json = false

    /// Prints `message` as JSON and returns true with --json; false (nothing printed) without.
    func printed(_ message: some SwiftProtobuf.Message) throws -> Bool {
        guard json else { return false }
        print(try message.jsonString())
        return true
    }
}

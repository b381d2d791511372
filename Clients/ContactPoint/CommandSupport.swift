import ArgumentParser
import BusTransport
import ContactPointAPI
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
        return try await withGRPCClient(transport: try BusClientTransport(config: config), handleClient: body)
    } catch let error as RPCError {
        throw CLIError("\(error.message) (\(error.code))", code: error.code)
    }
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

/// The caller's stored session, as call metadata.
func sessionMetadata() throws -> Metadata {
    ["authorization": "Bearer \(try SessionFile.load())"]
}

// MARK: Arguments

/// A protobuf enumeration value given by its hyphenated case name (`contact-practitioners`).
func enumValue<E: Enum & CaseIterable>(_ text: String, _ option: String) throws -> E {
    guard let value = E.allCases.first(where: { $0.rawValue != 0 && $0.name == text }) else {
        throw ValidationError(
            "--\(option): one of " + E.allCases.filter { $0.rawValue != 0 }.map(\.name).joined(separator: ", "))
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

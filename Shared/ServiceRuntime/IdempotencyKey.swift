import Authentication
import ContactPointAPI
import Foundation
public import GRPCCore

/// A client's idempotency key: the `idempotency-key` request metadata, the same on every retry
/// of one write (a call id is not: it changes per attempt). A write that takes one is applied
/// once per key and caller; a retry gets the first result (docs/PROTOCOL.md §7).
public struct IdempotencyKey: Sendable, Hashable {
    /// The client's key: 1–64 of `[A-Za-z0-9._:-]` (a UUID fits).
    public let key: String
    /// Whose key it is: the bus principal and, for a practitioner's call, their id. Keys of
    /// different callers never meet.
    public let scope: String
    /// The fully qualified method the key was sent with.
    public let method: String

    /// The metadata key.
    public static let metadataKey = "idempotency-key"

    /// The writes that take a key (docs/PROTOCOL.md §7): with one they may be retried.
    public static let keyedWrites: [MethodDescriptor] = [
        Contactpoint_V1_Index.Method.PutChildren.descriptor, Contactpoint_V1_Index.Method.RecordInvolvement.descriptor,
        Contactpoint_V1_Index.Method.EndInvolvement.descriptor, Contactpoint_V1_Index.Method.SetIndicator.descriptor,
        Contactpoint_V1_Index.Method.SetLeadProfessional.descriptor,
        Contactpoint_V1_Consent.Method.RecordConsent.descriptor,
        Contactpoint_V1_Consent.Method.RecordOverride.descriptor,
        Contactpoint_V1_Consent.Method.Withdraw.descriptor,
    ]

    /// The key of the call being handled, if it carries one (set by ``IdempotencyInterceptor``).
    @TaskLocal public static var current: IdempotencyKey?

    /// Parses `text`; `nil` unless it is 1–64 of `[A-Za-z0-9._:-]`.
    public init?(_ text: String, scope: String, method: String) {
        guard (1...64).contains(text.utf8.count),
            text.utf8.allSatisfy({ byte in
                (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":")
                    || byte == UInt8(ascii: "-")
            })
        else { return nil }
        (self.key, self.scope, self.method) = (text, scope, method)
    }
}

/// Reads a call's `idempotency-key` into ``IdempotencyKey/current`` for the
/// ``IdempotencyKey/keyedWrites`` (whose handlers apply a keyed write once); a malformed key, or
/// a key sent to any other method, is INVALID_ARGUMENT, so that a client never believes a retry
/// is safe when it is not. Runs inside the session interceptor: the key is scoped to the caller.
public struct IdempotencyInterceptor: ServerInterceptor {
    private let methods = Set(IdempotencyKey.keyedWrites.map(\.fullyQualifiedMethod))

    public init() {}

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard let text = request.metadata[stringValues: IdempotencyKey.metadataKey].first(where: { _ in true }) else {
            return try await next(request, context)
        }
        let method = context.descriptor.fullyQualifiedMethod
        guard methods.contains(method) else {
            throw RPCError(
                code: .invalidArgument,
                message:
                    "\(IdempotencyKey.metadataKey): \(method) does not take one (docs/PROTOCOL.md §7 lists those that do)"
            )
        }
        let scope = "\(context.remotePeer)/\(Caller.current?.practitionerID ?? "")"
        guard let key = IdempotencyKey(text, scope: scope, method: method) else {
            throw RPCError(
                code: .invalidArgument, message: "\(IdempotencyKey.metadataKey): 1–64 letters, digits and ._:- (a UUID)"
            )
        }
        return try await IdempotencyKey.$current.withValue(key) { try await next(request, context) }
    }
}

extension Metadata {
    /// This metadata with a new random idempotency key: for one keyed write, whose retries
    /// (which resend its metadata) are then applied once. A new key per write, never per attempt.
    public func withNewIdempotencyKey() -> Metadata {
        var metadata = self
        metadata.replaceOrAddString(UUID().uuidString.lowercased(), forKey: IdempotencyKey.metadataKey)
        return metadata
    }
}

public import ContactPointAPI
public import GRPCCore
public import Logging
import ServiceRuntime

/// The consent service's decisions, asked over the bus: one CheckConsent call per question.
/// The index's bus principal must be among the consent service's checkers and involvement
/// recorders, and the client must send the caller's session (``OnBehalfOfCallerInterceptor``).
public struct ConsentServiceClient<Transport: ClientTransport>: ConsentDecisions {
    let consent: Contactpoint_V1_Consent.Client<Transport>
    let logger: Logger

    public init(client: GRPCClient<Transport>, logger: Logger) {
        consent = Contactpoint_V1_Consent.Client(wrapping: client)
        self.logger = logger
    }

    public func allowed(_ serviceTypes: Set<Contactpoint_V1_ServiceType>, childID: String) async throws -> Set<
        Contactpoint_V1_ServiceType
    > {
        var options = CallOptions.defaults
        options.timeout = .seconds(2)
        do {
            let response = try await consent.checkConsent(
                .with {
                    $0.childID = childID
                    $0.serviceTypes = serviceTypes.sorted { $0.rawValue < $1.rawValue }
                }, options: options)
            return Set(
                response.decisions.filter { [.allowed, .allowedByOverride].contains($0.decision) }.map(\.serviceType))
        } catch {
            logger.warning(
                "the consent service does not answer: sensitive involvements are neither recorded nor shown to others",
                metadata: ["error": "\(error)"])
            throw error
        }
    }

    public func recordConsent(_ request: Contactpoint_V1_RecordConsentRequest) async throws {
        var request = request
        request.withInvolvement = true
        var options = CallOptions.defaults
        options.timeout = .seconds(5)
        // The involvement's key: a retried involvement does not record its consent twice.
        var metadata = Metadata()
        if let key = IdempotencyKey.current { metadata.addString(key.key, forKey: IdempotencyKey.metadataKey) }
        do {
            _ = try await consent.recordConsent(request, metadata: metadata, options: options)
        } catch let error as RPCError where error.code == .invalidArgument {
            throw RPCError(code: .invalidArgument, message: "consent.\(error.message)")
        } catch let error as RPCError where [.permissionDenied, .notFound, .failedPrecondition].contains(error.code) {
            throw error
        } catch {
            logger.warning(
                "the consent service does not answer: a consent given with an involvement is not recorded",
                metadata: ["error": "\(error)"])
            throw RPCError(
                code: .unavailable, message: "the consent service cannot be reached to record the consent: try again")
        }
    }
}

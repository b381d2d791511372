public import ContactPointAPI
public import GRPCCore
public import Logging

/// The consent service's decisions, asked over the bus: one CheckConsent call per question.
/// The index's bus principal must be among the consent service's checkers.
public struct ConsentServiceClient<Transport: ClientTransport>: ConsentDecisions {
    let consent: Contactpoint_V1_Consent.Client<Transport>
    let logger: Logger

    public init(client: GRPCClient<Transport>, logger: Logger) {
        consent = Contactpoint_V1_Consent.Client(wrapping: client)
        self.logger = logger
    }

    public func allowed(_ serviceTypes: Set<Contactpoint_V1_ServiceType>, childID: String) async throws -> Set<Contactpoint_V1_ServiceType> {
        var options = CallOptions.defaults
        options.timeout = .seconds(2)
        do {
            let response = try await consent.checkConsent(
                .with {
                    $0.childID = childID
                    $0.serviceTypes = serviceTypes.sorted { $0.rawValue < $1.rawValue }
                }, options: options)
            return Set(response.decisions.filter { [.allowed, .allowedByOverride].contains($0.decision) }.map(\.serviceType))
        } catch {
            logger.warning("the consent service does not answer: sensitive involvements are neither recorded nor shown to others", metadata: ["error": "\(error)"])
            throw error
        }
    }
}

public import Authentication
import ContactPointAPI
import GRPCCore
public import Logging
public import ServiceLifecycle

/// Session checking for a service on the bus: the ``AuthenticationInterceptor`` in front of its
/// RPCs, and a companion that keeps its ``SessionVerifier`` current from the identity service
/// (published keys, ended sessions) over the bus with the process's own key.
public struct SessionTrust: Sendable {
    public let verifier: SessionVerifier
    public let interval: Duration

    /// `verifier` starts empty in a service (the refresher fills it); a test gives one that
    /// already trusts its signing key.
    public init(verifier: SessionVerifier = SessionVerifier(), interval: Duration = .seconds(2)) {
        self.verifier = verifier
        self.interval = interval
    }

    public func interceptor(publicMethods: Set<String> = [], sessionOptionalMethods: Set<String> = [])
        -> AuthenticationInterceptor
    {
        AuthenticationInterceptor(
            verifier: verifier, publicMethods: publicMethods, sessionOptionalMethods: sessionOptionalMethods)
    }

    /// The companion service that refreshes the verifier from the identity service, through the
    /// process's bus client, until shutdown.
    public func refresher(client: ServiceBusClient, logger: Logger) -> some Service {
        Refresher(trust: self, client: client, logger: logger)
    }

    private struct Refresher: Service {
        let trust: SessionTrust
        let client: ServiceBusClient
        let logger: Logger

        func run() async throws {
            var refresher = SessionTrustRefresher(
                identity: Contactpoint_V1_Identity.Client(wrapping: client), verifier: trust.verifier, logger: logger)
            refresher.interval = trust.interval
            try await refresher.run()
        }
    }
}

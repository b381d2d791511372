import Authentication
import Logging
import ServiceLifecycle

/// Feeds the identity service's own ``SessionVerifier`` the sessions its database says have
/// ended, every ``interval``: a suspended administrator's token stops working here as fast as
/// elsewhere. (Other services use ``SessionTrustRefresher`` over the bus instead.)
struct EndedSessionFeed: Service {
    let store: IdentityStore
    let verifier: SessionVerifier
    let logger: Logger
    var interval: Duration = .seconds(1)

    func run() async throws {
        var since: Int64 = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                since = verifier.revoke(ended: try await store.endedSessions(since: since), since: since)
            } catch {
                logger.error("cannot read ended sessions", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

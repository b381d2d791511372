import Synchronization
import Vocabulary
public import ZeroMQ

/// The agency gateways a broker admits beside its static allow-list: the identity service's
/// registry, as the broker last read it (``update(_:)``). A gateway is let in under its
/// `gateway:ORGANISATION:ID` principal, which no static allow-list may use; once it is revoked,
/// new connections with its key are refused and every request on a connection already open is
/// answered UNAUTHENTICATED, so a revoked gateway is out at the next update.
public final class GatewayAdmissions: Sendable {
    private struct Registry {
        var principalByKey: [CurveKey: String] = [:]
        var inForce: Set<String> = []
    }

    private let registry = Mutex(Registry())

    public init() {}

    /// Replaces what is admitted by the gateways in force now: (principal, key) pairs.
    public func update(_ gateways: [(principal: String, publicKey: CurveKey)]) {
        var next = Registry()
        for gateway in gateways where next.principalByKey[gateway.publicKey] == nil {
            next.principalByKey[gateway.publicKey] = gateway.principal
            next.inForce.insert(gateway.principal)
        }
        registry.withLock { $0 = next }
    }

    /// The gateway principal of `key`, if a gateway in force has it.
    public func principal(for key: CurveKey) -> String? {
        registry.withLock { $0.principalByKey[key] }
    }

    /// Whether requests from `principal` are still to be routed: any principal but a gateway's
    /// no longer in force.
    public func mayCall(_ principal: String) -> Bool {
        guard GatewayPrincipal(principal) != nil else { return true }
        return registry.withLock { $0.inForce.contains(principal) }
    }

    public var count: Int { registry.withLock { $0.inForce.count } }

    /// The principals of the gateways in force.
    public var principals: Set<String> { registry.withLock { $0.inForce } }
}

import GRPCCore

/// Finds the `MethodConfig` that applies to a method, the way gRPC service configs are read:
/// an entry naming the method, else one naming its whole service, else the default entry.
struct MethodConfigLookup: Sendable {
    private var exact: [MethodDescriptor: MethodConfig] = [:]
    private var byService: [String: MethodConfig] = [:]
    private var fallback: MethodConfig?

    init(_ serviceConfig: ServiceConfig) {
        for config in serviceConfig.methodConfig {
            for name in config.names {
                if name.service.isEmpty {
                    fallback = config
                } else if name.method.isEmpty {
                    byService[name.service] = config
                } else {
                    exact[MethodDescriptor(fullyQualifiedService: name.service, method: name.method)] = config
                }
            }
        }
    }

    subscript(descriptor: MethodDescriptor) -> MethodConfig? {
        exact[descriptor] ?? byService[descriptor.service.fullyQualifiedService] ?? fallback
    }
}

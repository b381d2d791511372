import GRPCCore

/// Finds the `MethodConfig` that applies to a method, the way gRPC service configs are read:
/// an entry naming the method, else one naming its whole service, else the default entry.
struct MethodConfigLookup: Sendable {
    /// By `service/method`: a generated descriptor (package and service apart) is not equal to one
    /// made from the fully qualified name, though both name the same method.
    private var exact: [String: MethodConfig] = [:]
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
                    exact["\(name.service)/\(name.method)"] = config
                }
            }
        }
    }

    subscript(descriptor: MethodDescriptor) -> MethodConfig? {
        exact["\(descriptor.service.fullyQualifiedService)/\(descriptor.method)"] ?? byService[
            descriptor.service.fullyQualifiedService]
            ?? fallback
    }
}

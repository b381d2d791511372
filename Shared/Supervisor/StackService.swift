/// A kind of service process that `contactpoint up` runs: its executable, the principal its key
/// pair is registered under, and the gRPC services it may serve (its allow-list entry).
public struct StackService: Sendable, Hashable {
    public var name: String
    public var executable: String
    public var rpcServices: [String]

    public init(name: String, executable: String, rpcServices: [String]) {
        self.name = name
        self.executable = executable
        self.rpcServices = rpcServices
    }

    /// Every service executable that exists, in start order. A new service adds itself here.
    public static let all: [StackService] = [
        StackService(name: "echo", executable: "contactpoint-echo", rpcServices: ["contactpoint.v1.Echo"])
    ]

    public static func named(_ name: String) -> StackService? {
        all.first { $0.name == name }
    }
}

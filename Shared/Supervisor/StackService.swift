/// A kind of service process that `contactpoint up` runs: its executable, the principal its key
/// pair is registered under, the gRPC services it may serve (its allow-list entry; none for a
/// front end, which only calls), and the settings it needs beyond the bus (its database, say).
public struct StackService: Sendable {
    public var name: String
    public var executable: String
    public var rpcServices: [String]
    /// Settings whose value is a file or directory in the service's data directory: (key, name).
    public var dataFiles: [(key: String, name: String)]
    /// Settings with a fixed value under `up`.
    public var settings: [(key: String, value: String)]
    /// Settings added under `contactpoint up --demo`.
    public var demoSettings: [(key: String, value: String)]

    public init(
        name: String, executable: String, rpcServices: [String], dataFiles: [(key: String, name: String)] = [],
        settings: [(key: String, value: String)] = [],
        demoSettings: [(key: String, value: String)] = []
    ) {
        self.demoSettings = demoSettings
        self.name = name
        self.executable = executable
        self.rpcServices = rpcServices
        self.dataFiles = dataFiles
        self.settings = settings
    }

    /// The email of the first administrator `up` creates on a new system.
    public static let bootstrapAdministrator = "admin@contactpoint.example"

    /// Every service executable that exists, in start order. A new service adds itself here.
    public static let all: [StackService] = [
        StackService(
            name: "identity", executable: "contactpoint-identity",
            rpcServices: ["contactpoint.v1.Identity", "contactpoint.v1.IdentityAdmin"],
            dataFiles: [("database", "identity.sqlite"), ("secrets-dir", "secrets")],
            settings: [("bootstrap-admin", bootstrapAdministrator)],
            demoSettings: [("demo-world", "true")]),
        StackService(
            name: "audit", executable: "contactpoint-audit", rpcServices: ["contactpoint.v1.Audit"],
            dataFiles: [("database", "audit.sqlite"), ("secrets-dir", "secrets"), ("checkpoint-dir", "checkpoints")]),
        StackService(
            name: "consent", executable: "contactpoint-consent", rpcServices: ["contactpoint.v1.Consent"],
            dataFiles: [("database", "consent.sqlite")]),
        StackService(
            name: "index", executable: "contactpoint-index", rpcServices: ["contactpoint.v1.Index"],
            dataFiles: [("database", "index.sqlite")],
            demoSettings: [("demo-children", "10000")]),
        StackService(
            name: "notification", executable: "contactpoint-notification",
            rpcServices: ["contactpoint.v1.Notification"],
            dataFiles: [("database", "notification.sqlite")]),
        StackService(name: "echo", executable: "contactpoint-echo", rpcServices: ["contactpoint.v1.Echo"]),
    ]

    /// What people reach the services through, beside them: the web portal. A front end serves
    /// no RPC (it is on the allow-list as a caller), so it has no bus health; `up` gives it a
    /// port of its own and records its address in `stack.json`.
    public static let portal = StackService(
        name: "portal", executable: "contactpoint-portal", rpcServices: [],
        dataFiles: [
            ("certificate", "portal-certificate.pem"), ("private-key", "portal-private-key.pem"),
            ("secrets-dir", "secrets"),
        ],
        settings: [("create-certificate", "true")])

    public static func named(_ name: String) -> StackService? {
        all.first { $0.name == name }
    }
}

// swift-tools-version: 6.1
import PackageDescription

/// The brokers and services allocate with jemalloc on Linux: under the index's lookups glibc's
/// malloc took 8 % of the CPU, and jemalloc served up to 1.24× the lookups (docs/OPERATIONS.md
/// has the runs). Debian: libjemalloc-dev to build, libjemalloc2 to run.
let jemalloc: [LinkerSetting] = [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]

let package = Package(
    name: "ContactPoint",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "contactpoint", targets: ["ContactPointCLI"]),
        .executable(name: "contactpoint-broker", targets: ["BrokerService"]),
        .executable(name: "contactpoint-echo", targets: ["EchoService"]),
        .executable(name: "contactpoint-identity", targets: ["IdentityService"]),
        .executable(name: "contactpoint-audit", targets: ["AuditService"]),
        .executable(name: "contactpoint-index", targets: ["IndexService"]),
        .executable(name: "contactpoint-consent", targets: ["ConsentService"]),
        .executable(name: "contactpoint-notification", targets: ["NotificationService"]),
        .executable(name: "contactpoint-portal", targets: ["PortalService"]),
        .library(name: "ZeroMQ", targets: ["ZeroMQ"]),
        .library(name: "ContactPointAPI", targets: ["ContactPointAPI"]),
        .library(name: "Broker", targets: ["Broker"]),
        .library(name: "BusTransport", targets: ["BusTransport"]),
        .library(name: "ServiceRuntime", targets: ["ServiceRuntime"]),
        .library(name: "Supervisor", targets: ["Supervisor"]),
        .library(name: "SecurityPrimitives", targets: ["SecurityPrimitives"]),
        .library(name: "Authentication", targets: ["Authentication"]),
        .library(name: "MerkleTree", targets: ["MerkleTree"]),
        .library(name: "Identifiers", targets: ["Identifiers"]),
        .library(name: "BusProtocol", targets: ["BusProtocol"]),
        .library(name: "Vocabulary", targets: ["Vocabulary"]),
        .library(name: "Timekeeping", targets: ["Timekeeping"]),
        .library(name: "Audit", targets: ["Audit"]),
        .library(name: "Index", targets: ["Index"]),
        .library(name: "Consent", targets: ["Consent"]),
        .library(name: "ConsentClient", targets: ["ConsentClient"]),
        .library(name: "Notification", targets: ["Notification"]),
        .library(name: "Portal", targets: ["Portal"]),
        .library(name: "WebAuthn", targets: ["WebAuthn"]),
    ],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections", exact: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", exact: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", exact: "1.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        // The portal's HTTP server and templates; swift-configuration support is not used.
        .package(
            url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", exact: "2.1.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0"),
    ],
    targets: [
        // C libraries from Debian: libzmq3-dev and libssl-dev.
        .systemLibrary(
            name: "CZeroMQ", path: "Shared/CZeroMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(
            name: "COpenSSL", path: "Shared/COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(
            name: "CQREncode", path: "Shared/CQREncode", pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev"])]),

        // Shared libraries.
        .target(
            name: "ZeroMQ",
            dependencies: ["CZeroMQ", "DurableFiles", "NamedThreads"],
            path: "Shared/ZeroMQ"
        ),
        // Threads named in the kernel, for `top -H` and `perf`.
        .target(name: "NamedThreads", path: "Shared/NamedThreads"),
        // Files written whole and synced, names included: what must survive a power cut.
        .target(name: "DurableFiles", path: "Shared/DurableFiles"),
        .target(
            name: "ContactPointAPI",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Shared/ContactPointAPI"
        ),
        .target(
            name: "BusProtocol",
            dependencies: [
                "ContactPointAPI",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Shared/BusProtocol"
        ),
        .target(
            name: "Broker",
            dependencies: [
                "BusProtocol", "Vocabulary", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/Broker"
        ),
        .target(
            name: "BusTransport",
            dependencies: [
                "Timekeeping", "BusProtocol", "ZeroMQ", "ContactPointAPI",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/BusTransport"
        ),

        .target(
            name: "ServiceRuntime",
            dependencies: [
                "Authentication", "BusTransport", "ContactPointAPI", "Identifiers", "NamedThreads", "RecordFields",
                "Timekeeping", "Vocabulary", "ZeroMQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/ServiceRuntime"
        ),

        .target(
            name: "SecurityPrimitives",
            dependencies: ["COpenSSL", "DurableFiles"],
            path: "Shared/SecurityPrimitives"
        ),
        .target(
            name: "Authentication",
            dependencies: [
                "SecurityPrimitives", "ContactPointAPI", "Identifiers", "Timekeeping", "Vocabulary",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/Authentication"
        ),
        .target(name: "Identifiers", dependencies: ["SecurityPrimitives", "Timekeeping"], path: "Shared/Identifiers"),
        // Roles, audit actions and change kinds: the closed sets of words the services exchange.
        .target(name: "Vocabulary", path: "Shared/Vocabulary"),
        // The one instant type (UTC milliseconds) and the one injectable clock.
        .target(name: "Timekeeping", path: "Shared/Timekeeping"),
        .target(
            name: "ConsentClient",
            dependencies: [
                "ContactPointAPI", "ServiceRuntime", .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/ConsentClient"
        ),
        .target(
            name: "StoreSupport",
            dependencies: [
                "ContactPointAPI", "DurableFiles", "Identifiers", "NamedThreads", "SecurityPrimitives",
                "ServiceRuntime", "Timekeeping",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Shared/StoreSupport"
        ),
        .target(
            name: "RecordFields",
            dependencies: [
                "ContactPointAPI", "Identifiers", "Timekeeping", .product(name: "GRPCCore", package: "grpc-swift-2"),
            ],
            path: "Shared/RecordFields"
        ),
        .target(name: "DemoWorld", dependencies: ["Vocabulary"], path: "Shared/DemoWorld"),
        .target(name: "MerkleTree", dependencies: ["SecurityPrimitives"], path: "Shared/MerkleTree"),
        // Passkeys: a strict CBOR reader and the WebAuthn relying party's checks, for identity.
        .target(name: "WebAuthn", dependencies: ["SecurityPrimitives"], path: "Shared/WebAuthn"),
        .target(name: "TerminalQRCode", dependencies: ["CQREncode"], path: "Shared/TerminalQRCode"),
        .target(
            name: "Supervisor",
            dependencies: [
                "Broker", "DurableFiles", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Shared/Supervisor"
        ),

        // Executables.
        .executableTarget(
            name: "BrokerService",
            dependencies: [
                "Broker", "BusTransport", "ContactPointAPI", "ServiceRuntime", "ZeroMQ",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Broker",
            linkerSettings: jemalloc
        ),
        .executableTarget(
            name: "EchoService",
            dependencies: [
                "BusTransport", "ContactPointAPI", "ServiceRuntime", "ZeroMQ",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Echo",
            linkerSettings: jemalloc
        ),
        // The identity service: its store, rules and RPCs (Core), and its executable (Main).
        .target(
            name: "Identity",
            dependencies: [
                "Authentication", "SecurityPrimitives", "ServiceRuntime", "ContactPointAPI", "BusTransport",
                "DemoWorld", "Identifiers", "RecordFields", "Timekeeping", "Vocabulary", "WebAuthn", "ZeroMQ",
                "DurableFiles", "StoreSupport", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Identity/Core",
            exclude: ["Resources/common-passwords.NOTICE"],
            resources: [.copy("Resources/common-passwords.txt")]
        ),
        .executableTarget(
            name: "IdentityService",
            dependencies: [
                "Identity", "ServiceRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Services/Identity/Main",
            linkerSettings: jemalloc
        ),
        // The audit service: the log, its proofs, review and verify (Core), and its executable (Main).
        .target(
            name: "Audit",
            dependencies: [
                "Authentication", "SecurityPrimitives", "ServiceRuntime", "ContactPointAPI", "BusTransport",
                "MerkleTree", "Identifiers", "Timekeeping", "Vocabulary",
                "DurableFiles", "StoreSupport", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Audit/Core"
        ),
        .executableTarget(
            name: "AuditService",
            dependencies: [
                "Audit", "ServiceRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Services/Audit/Main",
            linkerSettings: jemalloc
        ),
        // The index service: children, search, involvements and disclosure (Core), and its executable (Main).
        .target(
            name: "Index",
            dependencies: [
                "Authentication", "ServiceRuntime", "ContactPointAPI", "BusTransport", "Identifiers", "DemoWorld",
                "RecordFields", "StoreSupport", "ConsentClient", "Timekeeping", "Vocabulary",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Index/Core",
            exclude: ["Resources/NOTICE"],
            resources: [
                .copy("Resources/nicknames.csv"), .copy("Resources/first-names-female.txt"),
                .copy("Resources/first-names-male.txt"),
                .copy("Resources/surnames.tsv"), .copy("Resources/postcode-areas.txt"),
            ]
        ),
        .executableTarget(
            name: "IndexService",
            dependencies: [
                "Index", "ServiceRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Services/Index/Main",
            linkerSettings: jemalloc
        ),
        // The consent service: consents, overrides and decisions (Core), and its executable (Main).
        .target(
            name: "Consent",
            dependencies: [
                "Authentication", "ServiceRuntime", "ContactPointAPI", "BusTransport", "Identifiers", "RecordFields",
                "StoreSupport", "Timekeeping", "Vocabulary",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Consent/Core"
        ),
        .executableTarget(
            name: "ConsentService",
            dependencies: [
                "Consent", "ServiceRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Services/Consent/Main",
            linkerSettings: jemalloc
        ),
        // The notification service: alerts, inboxes, live push and escalation (Core), and its executable (Main).
        .target(
            name: "Notification",
            dependencies: [
                "Authentication", "ServiceRuntime", "ContactPointAPI", "BusTransport", "Identifiers", "RecordFields",
                "StoreSupport", "ConsentClient", "Timekeeping", "Vocabulary",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Notification/Core"
        ),
        .executableTarget(
            name: "NotificationService",
            dependencies: [
                "Notification", "ServiceRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Services/Notification/Main",
            linkerSettings: jemalloc
        ),
        // The web portal: pages over the same RPCs as the CLI, with the practitioner's session (Core),
        // and its executable (Main).
        .target(
            name: "Portal",
            dependencies: [
                "BusTransport", "ContactPointAPI", "SecurityPrimitives", "ServiceRuntime", "Timekeeping",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Portal/Core",
            resources: [.copy("Templates"), .copy("Static")]
        ),
        .executableTarget(
            name: "PortalService",
            dependencies: [
                "Portal", "ServiceRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Services/Portal/Main",
            linkerSettings: jemalloc
        ),
        .executableTarget(
            name: "ContactPointCLI",
            dependencies: [
                "Timekeeping", "Audit", "DurableFiles", "Index", "RecordFields", "SecurityPrimitives", "ZeroMQ",
                "BusProtocol",
                "BusTransport", "ContactPointAPI", "ServiceRuntime", "Supervisor",
                "TerminalQRCode",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Clients/ContactPoint"
        ),

        // Tests, and what several test targets share.
        .target(
            name: "TestSupport",
            dependencies: [
                "Authentication", "SecurityPrimitives", "ServiceRuntime",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
        .testTarget(
            name: "BusProtocolTests",
            dependencies: ["BusProtocol", "ContactPointAPI", .product(name: "GRPCCore", package: "grpc-swift-2")]
        ),
        .testTarget(
            name: "BusTransportTests",
            dependencies: [
                "BusTransport", "Broker", "ZeroMQ", "ContactPointAPI", "ServiceRuntime", "TestSupport",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ]
        ),
        .testTarget(
            name: "ServiceRuntimeTests",
            dependencies: [
                "Timekeeping", "ServiceRuntime", "BusTransport", "ContactPointAPI", "TestSupport",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "StoreSupportTests",
            dependencies: ["StoreSupport", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "SupervisorTests", dependencies: ["Broker", "Supervisor", "ZeroMQ"]),
        .testTarget(name: "DurableFilesTests", dependencies: ["DurableFiles"]),
        .testTarget(name: "SecurityPrimitivesTests", dependencies: ["SecurityPrimitives"]),
        .testTarget(
            name: "AuthenticationTests",
            dependencies: [
                "Timekeeping", "Authentication", "SecurityPrimitives", "ContactPointAPI", "Vocabulary",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
            ]
        ),
        .testTarget(name: "IdentifiersTests", dependencies: ["Identifiers", "SecurityPrimitives"]),
        .testTarget(name: "TimekeepingTests", dependencies: ["Timekeeping"]),
        .testTarget(name: "MerkleTreeTests", dependencies: ["MerkleTree", "SecurityPrimitives"]),
        .testTarget(name: "TerminalQRCodeTests", dependencies: ["TerminalQRCode"]),
        .testTarget(name: "WebAuthnTests", dependencies: ["WebAuthn", "SecurityPrimitives"], exclude: ["Vectors"]),
        .testTarget(
            name: "PortalTests",
            dependencies: ["Portal", "SecurityPrimitives", .product(name: "NIOSSL", package: "swift-nio-ssl")]),
        .testTarget(
            name: "IdentityTests",
            dependencies: [
                "TestSupport",
                "Identity", "DemoWorld", "Authentication", "SecurityPrimitives", "ContactPointAPI", "Timekeeping",
                "Vocabulary",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "AuditTests",
            dependencies: [
                "Audit", "Authentication", "SecurityPrimitives", "ContactPointAPI", "MerkleTree", "Identifiers",
                "TestSupport", "Timekeeping", "Vocabulary",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "IndexTests",
            dependencies: [
                "Timekeeping", "TestSupport",
                "Index", "Authentication", "SecurityPrimitives", "ContactPointAPI", "Identifiers", "ServiceRuntime",
                "RecordFields", "ConsentClient",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ConsentTests",
            dependencies: [
                "Timekeeping", "TestSupport",
                "Consent", "Authentication", "SecurityPrimitives", "ContactPointAPI", "Identifiers", "RecordFields",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
            ]
        ),
        .testTarget(
            name: "NotificationTests",
            dependencies: [
                "Timekeeping", "TestSupport",
                "Notification", "Authentication", "SecurityPrimitives", "ContactPointAPI", "Identifiers",
                "ConsentClient", "ServiceRuntime",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "TestSupport",
                "Broker", "BusTransport", "BusProtocol", "ZeroMQ", "ContactPointAPI", "Supervisor",
                "SecurityPrimitives", "Index",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

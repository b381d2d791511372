// swift-tools-version: 6.1
// The benchmarks, kept out of the main package so the default build and the tests never
// compile grpc-swift-nio-transport. Run: swift run -c release --package-path Benchmarks bus-benchmark
// (or audit-benchmark, index-benchmark).
import PackageDescription

/// Allocation with jemalloc, as the services do (../Package.swift).
let jemalloc: [LinkerSetting] = [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]

let package = Package(
    name: "ContactPointBenchmarks",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "bus-benchmark", targets: ["BusBenchmark"]),
        .executable(name: "audit-benchmark", targets: ["AuditBenchmark"]),
        .executable(name: "index-benchmark", targets: ["IndexBenchmark"]),
        .executable(name: "notification-benchmark", targets: ["NotificationBenchmark"]),
    ],
    dependencies: [
        .package(name: "ContactPoint", path: ".."),
        .package(url: "https://github.com/grpc/grpc-swift-2", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", exact: "2.9.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
    ],
    targets: [
        // Latency percentiles and throughput, shared by the benchmarks.
        .target(
            name: "BenchmarkSupport",
            dependencies: [
                .product(name: "Broker", package: "ContactPoint"),
                .product(name: "BusProtocol", package: "ContactPoint"),
                .product(name: "BusTransport", package: "ContactPoint"),
                .product(name: "ZeroMQ", package: "ContactPoint"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "BusBenchmark",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Broker", package: "ContactPoint"),
                .product(name: "BusProtocol", package: "ContactPoint"),
                .product(name: "BusTransport", package: "ContactPoint"),
                .product(name: "ContactPointAPI", package: "ContactPoint"),
                .product(name: "ServiceRuntime", package: "ContactPoint"),
                .product(name: "ZeroMQ", package: "ContactPoint"),
                .product(name: "SecurityPrimitives", package: "ContactPoint"),
                .product(name: "Authentication", package: "ContactPoint"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: jemalloc
        ),
        .executableTarget(
            name: "AuditBenchmark",
            dependencies: [
                .product(name: "Timekeeping", package: "ContactPoint"),
                .product(name: "Audit", package: "ContactPoint"),
                .product(name: "Identifiers", package: "ContactPoint"),
                .product(name: "ContactPointAPI", package: "ContactPoint"),
                .product(name: "MerkleTree", package: "ContactPoint"),
                .product(name: "SecurityPrimitives", package: "ContactPoint"),
            ],
            linkerSettings: jemalloc
        ),
        .executableTarget(
            name: "IndexBenchmark",
            dependencies: [
                .product(name: "Timekeeping", package: "ContactPoint"),
                "BenchmarkSupport",
                .product(name: "Index", package: "ContactPoint"),
                .product(name: "ConsentClient", package: "ContactPoint"),
                .product(name: "Authentication", package: "ContactPoint"),
                .product(name: "Broker", package: "ContactPoint"),
                .product(name: "BusTransport", package: "ContactPoint"),
                .product(name: "ContactPointAPI", package: "ContactPoint"),
                .product(name: "SecurityPrimitives", package: "ContactPoint"),
                .product(name: "ZeroMQ", package: "ContactPoint"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            linkerSettings: jemalloc
        ),
        .executableTarget(
            name: "NotificationBenchmark",
            dependencies: [
                .product(name: "Timekeeping", package: "ContactPoint"),
                "BenchmarkSupport",
                .product(name: "Index", package: "ContactPoint"),
                .product(name: "Notification", package: "ContactPoint"),
                .product(name: "ConsentClient", package: "ContactPoint"),
                .product(name: "Authentication", package: "ContactPoint"),
                .product(name: "BusTransport", package: "ContactPoint"),
                .product(name: "ContactPointAPI", package: "ContactPoint"),
                .product(name: "SecurityPrimitives", package: "ContactPoint"),
                .product(name: "ServiceRuntime", package: "ContactPoint"),
                .product(name: "ZeroMQ", package: "ContactPoint"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: jemalloc
        ),
    ],
    swiftLanguageModes: [.v6]
)

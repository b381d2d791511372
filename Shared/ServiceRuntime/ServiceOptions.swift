public import ArgumentParser

/// The command-line flags every service executable shares. Each one is optional: a value left
/// out comes from the environment, the `--config` file or the default (``ConfigurationReader``),
/// so flags hold text and are parsed, with the same errors, wherever the value came from.
public struct ServiceOptions: ParsableArguments {
    @Option(help: "A configuration file of `key = value` lines; flags and CONTACTPOINT_* variables override it.")
    public var config: String?

    @Flag(help: "Print the configuration in force (secrets redacted) and exit.")
    public var printConfig = false

    @Option(name: .customLong("broker"), help: "A broker as ENDPOINT,PUBLIC-KEY-FILE; repeat for each broker.")
    public var brokers: [String] = []

    @Option(help: "This process's CURVE key pair file (see `contactpoint keys generate`).")
    public var keyFile: String?

    @Option(help: "The instance name reported in responses and logs (default: SERVICE@HOSTNAME).")
    public var instance: String?

    @Option(help: "Concurrent calls accepted per broker (default 8).")
    public var sessions: String?

    @Option(help: "Interval between heartbeats to each broker, e.g. 1s or 200ms (default 1s).")
    public var heartbeat: String?

    @Option(help: "How long calls in flight may take to finish after SIGTERM (default 10s).")
    public var gracePeriod: String?

    @Option(help: "Serve Prometheus metrics on this local port (default: off).")
    public var metricsPort: String?

    @Option(help: "The address the metrics port binds (default 127.0.0.1).")
    public var metricsHost: String?

    @Option(
        help:
            "The least severe log level printed: trace, debug, info, notice, warning, error, critical (default notice)."
    )
    public var logLevel: String?

    public init() {}
}

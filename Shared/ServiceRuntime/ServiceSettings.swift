public import BusTransport
import Foundation
public import Logging
public import ZeroMQ

/// What every service process needs to join the bus and run, read once at start.
public struct ServiceSettings: Sendable {
    /// The kind of process, e.g. "echo" or "index": its health is checked under this name.
    public var service: String
    public var brokers: [BrokerAddress]
    public var keyPair: CurveKeyPair
    public var instance: String
    public var sessionsPerBroker = 8
    public var heartbeatInterval: Duration = .seconds(1)
    /// How long calls in flight may take to finish once shutdown begins; then they are cancelled.
    public var gracePeriod: Duration = .seconds(10)
    /// Where to serve Prometheus metrics; `nil` (the default) serves none.
    public var metrics: (host: String, port: Int)?
    public var logLevel: Logger.Level = .notice

    public init(service: String, brokers: [BrokerAddress], keyPair: CurveKeyPair, instance: String) {
        self.service = service
        self.brokers = brokers
        self.keyPair = keyPair
        self.instance = instance
    }

    /// Reads the shared settings (keys documented in docs/CONFIGURATION.md).
    public init(reading reader: inout ConfigurationReader, options: ServiceOptions, service: String)
        throws(ConfigurationError)
    {
        let brokers = try reader.list("broker", flags: options.brokers, parse: ConfigurationValue.broker)
        guard !brokers.isEmpty else {
            throw ConfigurationError(
                key: "broker", source: "configuration", problem: "no broker is given",
                fix: "pass --broker ENDPOINT,PUBLIC-KEY-FILE (repeat for each broker), or set CONTACTPOINT_BROKER")
        }
        self.init(
            service: service, brokers: brokers,
            keyPair: try reader.required(
                "key-file", flag: options.keyFile, fix: "give this process's .key file",
                parse: ConfigurationValue.keyPair),
            instance: try reader.value(
                "instance", flag: options.instance, default: "\(service)@\(ProcessInfo.processInfo.hostName)",
                parse: ConfigurationValue.text))
        sessionsPerBroker = try reader.value(
            "sessions", flag: options.sessions, default: sessionsPerBroker,
            parse: ConfigurationValue.integer(in: 1...1024))
        heartbeatInterval = try reader.value(
            "heartbeat", flag: options.heartbeat, default: heartbeatInterval, parse: ConfigurationValue.duration)
        gracePeriod = try reader.value(
            "grace-period", flag: options.gracePeriod, default: gracePeriod, parse: ConfigurationValue.duration)
        let metricsHost = try reader.value(
            "metrics-host", flag: options.metricsHost, default: "127.0.0.1", parse: ConfigurationValue.text)
        if let port = try reader.optionalValue(
            "metrics-port", flag: options.metricsPort, parse: ConfigurationValue.integer(in: 0...65535))
        {
            metrics = (metricsHost, port)
        }
        logLevel = try reader.value(
            "log-level", flag: options.logLevel, default: logLevel, parse: ConfigurationValue.logLevel)
    }
}

public import ArgumentParser
public import BusTransport
public import Logging
public import ZeroMQ

/// The options of every process that joins the bus as a client or a worker.
public struct BusPeerOptions: ParsableArguments {
    @Option(name: .customLong("broker"), help: "A broker as ENDPOINT,PUBLIC-KEY-FILE; repeat for each broker.")
    public var brokers: [String]

    @Option(help: "This process's CURVE key pair file (see `contactpoint keys generate`).")
    public var keyFile: String

    public init() {}

    public func brokerAddresses() throws -> [BrokerAddress] {
        try brokers.map(BrokerAddress.init(argument:))
    }

    public func keyPair() throws -> CurveKeyPair {
        try KeyFile.readKeyPair(at: keyFile)
    }
}

/// `--log-level`, for every long-running process.
public struct LoggingOptions: ParsableArguments {
    @Option(help: "The least severe log level printed.")
    public var logLevel: Logger.Level = .notice

    public init() {}

    /// Sends the process's log to standard error at the chosen level.
    public func bootstrap() {
        LoggingSystem.bootstrapStandardError(level: logLevel)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

import ArgumentParser
import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import ServiceRuntime

/// `contactpoint echo`: checks the bus end to end by calling the diagnostic echo service.
struct Echo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call the echo service through the bus and report who answered and how fast.")

    @OptionGroup var bus: BusClientOptions
    @Option(help: "Text to send.")
    var text = "ping"
    @Option(help: "How many calls to make, one after another.")
    var count = 1
    @Option(help: "Deadline of each call, in milliseconds.")
    var timeoutMillis = 2000

    func run() async throws {
        let connection = withConfiguration { () throws(ConfigurationError) in try bus.connection() }
        let config = BusClientTransport.Config(brokers: connection.brokers, keyPair: connection.keyPair)
        try await withGRPCClient(transport: try BusClientTransport(config: config)) { client in
            let echo = Contactpoint_V1_Echo.Client(wrapping: client)
            var options = CallOptions.defaults
            options.timeout = .milliseconds(timeoutMillis)
            for _ in 0..<count {
                let started = ContinuousClock.now
                let reply = try await echo.get(.with { $0.text = text }, options: options)
                let elapsed = started.duration(to: .now)
                print(
                    """
                    \(reply.servedBy): \(reply.text) in \
                    \(elapsed.formatted(.units(allowed: [.milliseconds, .microseconds])))
                    """
                )
            }
        }
    }
}

import ArgumentParser
import ServiceRuntime

/// `contactpoint-echo`: serves the diagnostic Echo service and gRPC health over the bus.
@main
struct EchoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contactpoint-echo",
        abstract: "Serve the diagnostic echo service over the ContactPoint bus.",
        discussion: "Settings come from flags, CONTACTPOINT_* variables or a --config file (docs/CONFIGURATION.md).")

    @OptionGroup var service: ServiceOptions

    func run() async throws {
        try await ServiceMain.run(
            executable: "contactpoint-echo", service: "echo", options: service,
            readSettings: { _ in () },
            makeService: { settings, _, _ in BusService(rpcServices: [EchoService(instance: settings.instance)]) })
    }
}

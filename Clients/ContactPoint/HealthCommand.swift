import ArgumentParser
import BusProtocol
import BusTransport
import ContactPointAPI
import GRPCCore
import ServiceRuntime

/// `contactpoint health`: a probe for health checks (compose, systemd, load balancers).
struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exit 0 if every broker answers, and if the named service is SERVING; 1 otherwise.",
        discussion:
            """
            Without SERVICE it checks the brokers only. The brokers and key come from flags, CONTACTPOINT_BROKER \
            and CONTACTPOINT_KEY_FILE, or the local stack.
            """
    )

    @OptionGroup var bus: BusClientOptions
    @Argument(help: "A service name, e.g. echo; its processes answer under their scoped health service.")
    var service: String?

    func run() async throws {
        let connection = withConfiguration { () throws(ConfigurationError) in try bus.connection() }
        for broker in connection.brokers {
            let answer = await ManagementQuery(broker: broker, keyPair: connection.keyPair)
                .ask([(Majordomo.mmiServiceLookup, "mmi.service")])
            guard answer.first ?? nil != nil else {
                print("broker \(broker.endpoint): no answer")
                throw ExitCode(1)
            }
        }
        guard let service else {
            print("brokers: answering")
            return
        }
        let status = await checkHealth(of: service, brokers: connection.brokers, keyPair: connection.keyPair)
        print("\(service): \(status)")
        if status != "SERVING" { throw ExitCode(1) }
    }
}

import ArgumentParser
import ContactPointAPI
import Foundation
import ZeroMQ

/// `contactpoint admin gateways`: the agency systems (case-management gateways) admitted on the
/// bus for an organisation, registered in the identity service (docs/GATEWAYS.md).
struct Gateways: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Agency gateways: the systems that call ContactPoint for an organisation.",
        subcommands: [Register.self, List.self, Revoke.self])

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Admit an organisation's system by its public key: every broker lets it in within seconds.")
        @OptionGroup var bus: BusClientOptions
        @Option(help: "The organisation the system belongs to.")
        var organisation: String
        @Option(help: "What the agency calls it, e.g. \"Riverside Surgery EMIS bridge\".")
        var name: String
        @Option(help: "The system's public key file (NAME.pub, from `contactpoint keys generate NAME`).")
        var publicKeyFile: String
        @Option(
            help: """
                What it may do, comma-separated: read-alerts (its organisation's, with its own key), \
                act-for-practitioners (relay its practitioners' sign-in and act with their sessions).
                """)
        var may: String

        func run() async throws {
            let permissions = Set(may.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            let known: Set<String> = ["read-alerts", "act-for-practitioners"]
            guard !permissions.isEmpty, permissions.isSubset(of: known) else {
                // A usage error in one line, as enumValue's (exit 64)
                FileHandle.standardError.write(
                    Data("Error: --may: read-alerts, act-for-practitioners or both, comma-separated\n".utf8))
                throw ExitCode.validationFailure
            }
            let key: CurveKey
            do {
                // The secret key stays with the agency's system: a key pair file given here is a mistake
                if (try? KeyFile.readKeyPair(at: publicKeyFile)) != nil {
                    throw CLIError(
                        "--public-key-file: \(publicKeyFile) holds a secret key: give the .pub file, and keep the .key "
                            + "on the agency's system")
                }
                key = try KeyFile.readPublicKey(at: publicKeyFile)
            } catch let error as CLIError {
                throw error
            } catch {
                throw CLIError("--public-key-file: \(error)")
            }
            let metadata = try bus.sessionMetadata()
            let gateway = try await withAdministration(bus) { admin in
                try await admin.registerGateway(
                    .with {
                        $0.organisationID = organisation
                        $0.name = name
                        $0.publicKey = key.z85
                        $0.readsAlerts = permissions.contains("read-alerts")
                        $0.actsForPractitioners = permissions.contains("act-for-practitioners")
                    }, metadata: metadata)
            }
            print("registered \(gateway.gatewayID): \(gateway.name), bus principal \(gateway.principal)")
            print("it may: \(Gateways.permissions(of: gateway))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The gateways you administer, revoked ones too.")
        @OptionGroup var bus: BusClientOptions
        @OptionGroup var output: JSONOutput

        func run() async throws {
            let metadata = try bus.sessionMetadata()
            let list = try await withAdministration(bus) { try await $0.listGateways(.init(), metadata: metadata) }
            if try output.printed(list) { return }
            if list.gateways.isEmpty { print("no gateways") }
            for gateway in list.gateways {
                let state = gateway.revokedAt == 0 ? "in force" : "revoked"
                print(
                    "\(gateway.gatewayID)  \(gateway.organisationID)  \(state)  \(permissions(of: gateway))  \(gateway.name)"
                )
            }
        }
    }

    static func permissions(of gateway: Contactpoint_V1_Gateway) -> String {
        [gateway.readsAlerts ? "read-alerts" : nil, gateway.actsForPractitioners ? "act-for-practitioners" : nil]
            .compactMap { $0 }.joined(separator: ",")
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Shut a gateway out: every broker refuses it within seconds, its open connections too.")
        @OptionGroup var bus: BusClientOptions
        @Argument var id: String

        func run() async throws {
            let metadata = try bus.sessionMetadata()
            let gateway = try await withAdministration(bus) {
                try await $0.revokeGateway(.with { $0.gatewayID = id }, metadata: metadata)
            }
            print("\(gateway.gatewayID): revoked")
        }
    }
}

import ArgumentParser
import Foundation
import ZeroMQ

/// `contactpoint`: the command-line client for practitioners and operators.
@main
struct ContactPointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contactpoint",
        abstract: "ContactPoint: the national index of children, for vetted practitioners.",
        subcommands: [
            Login.self, Logout.self, WhoAmI.self, StepUp.self, Code.self, Sessions.self, Enrol.self,
            ChangePassword.self, Search.self, View.self,
            InvolvementCommand.self, ConsentCommand.self, Alerts.self, Notices.self, Shield.self, Children.self,
            Seed.self, Admin.self, AuditCommand.self, Up.self, Status.self, Health.self,
            Keys.self, Echo.self,
        ])
}

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the CURVE key pairs that authenticate processes on the bus.",
        subcommands: [Generate.self, Show.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a key pair: NAME.key (secret, mode 0600) and NAME.pub, never overwriting.")

        @Argument(help: "The principal the key pair is for, e.g. broker-1 or index.")
        var name: String
        @Option(help: "Directory to write the files into.")
        var directory = "."

        func validate() throws {
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }), !name.isEmpty
            else {
                throw ValidationError("a key name is letters, digits, '-', '_' and '.' only")
            }
        }

        func run() throws {
            let pair = try CurveKeyPair.generate()
            try KeyFile.write(pair, name: name, into: directory)
            print("\(name) \(pair.publicKey.z85)")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the public key of a key file.")

        @Argument(help: "A .key or .pub file.")
        var file: String

        func run() throws {
            let key: CurveKey =
                if file.hasSuffix(".key") { try KeyFile.readKeyPair(at: file).publicKey } else {
                    try KeyFile.readPublicKey(at: file)
                }
            print(key.z85)
        }
    }
}

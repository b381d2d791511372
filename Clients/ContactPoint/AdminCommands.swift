import ArgumentParser
import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import ServiceRuntime

/// `contactpoint admin`: organisations and accounts, for system and local-authority administrators.
struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage organisations and practitioner accounts (administrators only).",
        subcommands: [Organisations.self, Users.self, Gateways.self])

    struct Organisations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "orgs", abstract: "Organisations.",
            subcommands: [Create.self, List.self, Deactivate.self, Activate.self])

        struct Deactivate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Deactivate an organisation: its practitioners' sessions end.")
            @OptionGroup var bus: BusClientOptions
            @Argument var id: String
            func run() async throws { try await setOrganisationStatus(id, active: false, bus: bus) }
        }

        struct Activate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Activate an organisation again.")
            @OptionGroup var bus: BusClientOptions
            @Argument var id: String
            func run() async throws { try await setOrganisationStatus(id, active: true, bus: bus) }
        }

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create an organisation.")
            @OptionGroup var bus: BusClientOptions
            @Option(
                help:
                    """
                    educational-setting, gp-practice, health-trust, childrens-services, youth-offending-team, \
                    police, voluntary-organisation or management-team.
                    """
            )
            var type: String
            @Option var name: String
            @Option(help: "The local authority's code, e.g. E09000033.")
            var localAuthority: String

            func run() async throws {
                let metadata = try bus.sessionMetadata()
                let created = try await withAdministration(bus) { admin in
                    try await admin.createOrganisation(
                        .with {
                            $0.type = type
                            $0.name = name
                            $0.localAuthority = localAuthority
                        }, metadata: metadata)
                }
                print("created \(created.organisationID): \(created.name) (\(created.type), \(created.localAuthority))")
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the organisations you administer.")
            @OptionGroup var bus: BusClientOptions
            @OptionGroup var output: JSONOutput

            func run() async throws {
                let metadata = try bus.sessionMetadata()
                let list = try await withAdministration(bus) {
                    try await $0.listOrganisations(.init(), metadata: metadata)
                }
                if try output.printed(list) { return }
                for org in list.organisations {
                    print("\(org.organisationID)  \(org.localAuthority)  \(org.type)  \(org.name)")
                }
            }
        }
    }

    struct Users: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Practitioner accounts.",
            subcommands: [
                Create.self, List.self, Vetting.self, Suspend.self, Reactivate.self, Close.self, Unlock.self,
                ResetTwoFactor.self,
            ])

        struct Vetting: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract:
                    """
                    Record an account's vetting anew (a renewed criminal-records check): every date, as on creation.
                    """)
            @OptionGroup var account: AccountOptions
            @OptionGroup var vetting: VettingOptions

            func run() async throws {
                let metadata = try account.bus.sessionMetadata()
                let (id, vetting) = (account.id, vetting.vetting)
                _ = try await withAdministration(account.bus) {
                    try await $0.recordVetting(
                        .with {
                            $0.practitionerID = id
                            $0.vetting = vetting
                        }, metadata: metadata)
                }
                print("\(id): vetting recorded")
            }
        }

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create an account; prints the one-time enrolment code to hand over.")
            @OptionGroup var bus: BusClientOptions
            @Option var organisation: String
            @Option var name: String
            @Option var email: String
            @Option var jobRole: String
            @Option(
                help:
                    """
                    A system role beyond practitioner (named-person, la-administrator, auditor, \
                    system-administrator); repeat.
                    """
            )
            var role: [String] = []
            @OptionGroup var vetting: VettingOptions

            func run() async throws {
                let metadata = try bus.sessionMetadata()
                let created = try await withAdministration(bus) { admin in
                    try await admin.createPractitioner(
                        .with {
                            $0.organisationID = organisation
                            $0.name = name
                            $0.email = email
                            $0.jobRole = jobRole
                            $0.roles = role
                            $0.vetting = vetting.vetting
                        }, metadata: metadata)
                }
                print("created \(created.account.practitionerID) (\(created.account.email)), inactive until enrolment")
                print("one-time enrolment code, valid 7 days — hand it over in person or by a separate channel:")
                print(created.enrolmentCode)
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the accounts you administer.")
            @OptionGroup var bus: BusClientOptions
            @Option(help: "Only this organisation's accounts.")
            var organisation = ""
            @OptionGroup var output: JSONOutput

            func run() async throws {
                let metadata = try bus.sessionMetadata()
                let list = try await withAdministration(bus) { admin in
                    try await admin.listPractitioners(.with { $0.organisationID = organisation }, metadata: metadata)
                }
                if try output.printed(list) { return }
                for account in list.practitioners {
                    let lock = account.locked ? " LOCKED" : ""
                    print(
                        """
                        \(account.practitionerID)  \(account.status)\(lock)  \(account.email)  \(account.name)  \
                        [\(account.roles.joined(separator: ","))]
                        """
                    )
                }
            }
        }

        struct Suspend: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Suspend an account: its sessions end everywhere within seconds.")
            @OptionGroup var account: AccountOptions
            func run() async throws { try await account.setStatus("suspended") }
        }

        struct Reactivate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Reactivate a suspended account.")
            @OptionGroup var account: AccountOptions
            func run() async throws { try await account.setStatus("active") }
        }

        struct Close: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Close an account for good.")
            @OptionGroup var account: AccountOptions
            func run() async throws { try await account.setStatus("closed") }
        }

        struct Unlock: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Unlock an account locked by failed logins.")
            @OptionGroup var account: AccountOptions

            func run() async throws {
                let metadata = try account.bus.sessionMetadata()
                let id = account.id
                let unlocked = try await withAdministration(account.bus) {
                    try await $0.unlock(.with { $0.practitionerID = id }, metadata: metadata)
                }
                print("\(unlocked.practitionerID): unlocked")
            }
        }

        struct ResetTwoFactor: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "reset-2fa",
                abstract: "Remove an account's password and authenticator; prints a new enrolment code.")
            @OptionGroup var account: AccountOptions

            func run() async throws {
                let metadata = try account.bus.sessionMetadata()
                let id = account.id
                let reset = try await withAdministration(account.bus) {
                    try await $0.resetTwoFactor(.with { $0.practitionerID = id }, metadata: metadata)
                }
                print("\(reset.account.practitionerID): must enrol again with the one-time code:")
                print(reset.enrolmentCode)
            }
        }
    }
}

func setOrganisationStatus(_ id: String, active: Bool, bus: BusClientOptions) async throws {
    let metadata = try bus.sessionMetadata()
    let updated = try await withAdministration(bus) { admin in
        try await admin.setOrganisationStatus(
            .with {
                $0.organisationID = id
                $0.active = active
            }, metadata: metadata)
    }
    print("\(updated.organisationID): \(updated.active ? "active" : "inactive")")
}

struct AccountOptions: ParsableArguments {
    @OptionGroup var bus: BusClientOptions
    @Argument(help: "The practitioner id (see `contactpoint admin users list`).")
    var id: String

    func setStatus(_ status: String) async throws {
        let metadata = try bus.sessionMetadata()
        let id = id
        let account = try await withAdministration(bus) { admin in
            try await admin.setAccountStatus(
                .with {
                    $0.practitionerID = id
                    $0.status = status
                }, metadata: metadata)
        }
        print("\(account.practitionerID): \(account.status)")
    }
}

/// Runs `body` with an identity administration client over the bus.
func withAdministration<T: Sendable>(
    _ bus: BusClientOptions,
    _ body: @Sendable (Contactpoint_V1_IdentityAdmin.Client<BusClientTransport>) async throws -> T
) async throws -> T {
    try await withBusClient(bus) { try await body(Contactpoint_V1_IdentityAdmin.Client(wrapping: $0)) }
}

/// An account's vetting, as an administrator records it.
struct VettingOptions: ParsableArguments {
    @Option(help: "Date of the enhanced criminal-records check, YYYY-MM-DD.")
    var crbCheckedOn = ""
    @Option(help: "Reference of the enhanced criminal-records check.")
    var crbReference = ""
    @Option(help: "Date training was completed, YYYY-MM-DD.")
    var trainingCompletedOn = ""
    @Option(help: "Date the user agreement was accepted, YYYY-MM-DD.")
    var agreementAcceptedOn = ""
    @Option(help: "The practitioner's home postcode, as the check gave it (disclosures near home are reviewed).")
    var homePostcode = ""

    var vetting: Contactpoint_V1_Vetting {
        .with {
            $0.criminalRecordsCheckedOn = crbCheckedOn
            $0.criminalRecordsReference = crbReference
            $0.trainingCompletedOn = trainingCompletedOn
            $0.userAgreementAcceptedOn = agreementAcceptedOn
            $0.homePostcode = homePostcode
        }
    }
}

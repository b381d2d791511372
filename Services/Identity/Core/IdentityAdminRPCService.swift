import Authentication
public import ContactPointAPI
import Foundation
public import GRPCCore
import RecordFields
import SecurityPrimitives
import ServiceRuntime
import StoreSupport
import Timekeeping
import Vocabulary
import ZeroMQ

/// The `contactpoint.v1.IdentityAdmin` RPCs: organisations and accounts.
///
/// Deny by default: a system administrator may do everything; a local-authority administrator
/// may manage organisations and accounts of their own local authority, and never grant the
/// system-administrator or auditor roles; anyone else is PERMISSION_DENIED. Inputs are checked
/// field by field (INVALID_ARGUMENT names the field).
public struct IdentityAdminRPCService: Contactpoint_V1_IdentityAdmin.SimpleServiceProtocol {
    let authenticator: Authenticator
    /// The store, recording the calling administrator as the actor of every change.
    var store: IdentityStore { authenticator.store.acting(as: Caller.current?.practitionerID) }

    init(authenticator: Authenticator) {
        self.authenticator = authenticator
    }

    // MARK: Organisations

    public func createOrganisation(
        request: Contactpoint_V1_CreateOrganisationRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_OrganisationSummary {
        try await refusalsAudited(subject: nil) {
            let caller = try Caller.required()
            guard let type = OrganisationType(rawValue: request.type) else {
                throw Self.invalid(
                    "type", "one of \(OrganisationType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let name = try Self.text(request.name, field: "name", maximum: 200)
            let localAuthority = try Self.localAuthority(request.localAuthority)
            try Self.requireAdministrator(caller, of: localAuthority)
            if type == .managementTeam, !caller.hasRole(.systemAdministrator) {
                throw RPCError(
                    code: .permissionDenied,
                    message: "only a system administrator creates management-team organisations")
            }
            let organisation = Organisation(
                id: "org-" + Base32.encode(SecureRandom.bytes(10)).lowercased(), type: type, name: name,
                localAuthority: localAuthority,
                isActive: true)
            try await store.createOrganisation(organisation, now: authenticator.clock.now.seconds)
            return Self.summary(organisation)
        }
    }

    public func listOrganisations(
        request: Contactpoint_V1_ListOrganisationsRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_ListOrganisationsResponse {
        try await refusalsAudited(subject: nil) {
            let caller = try Caller.required()
            let scope = try Self.administeredLocalAuthority(caller)
            let organisations = try await store.organisations().filter { scope == nil || $0.localAuthority == scope }
            return .with { $0.organisations = organisations.map(Self.summary) }
        }
    }

    public func setOrganisationStatus(
        request: Contactpoint_V1_SetOrganisationStatusRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_OrganisationSummary {
        try await refusalsAudited(subject: request.organisationID) {
            let caller = try Caller.required()
            guard let organisation = try await store.organisation(id: request.organisationID) else {
                throw RPCError(code: .notFound, message: "no organisation \(request.organisationID)")
            }
            try Self.requireAdministrator(caller, of: organisation.localAuthority)
            if organisation.id == caller.organisationID {
                throw RPCError(
                    code: .permissionDenied, message: "administrators do not change their own organisation's status")
            }
            try await store.setOrganisationActive(
                id: organisation.id, active: request.active, now: authenticator.clock.now.seconds)
            var updated = organisation
            updated.isActive = request.active
            return Self.summary(updated)
        }
    }

    // MARK: Accounts

    public func createPractitioner(
        request: Contactpoint_V1_CreatePractitionerRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_CreatePractitionerResponse {
        try await refusalsAudited(subject: request.organisationID) {
            let caller = try Caller.required()
            let organisation = try await administeredOrganisation(request.organisationID, caller: caller)
            var roles = Set<Role>()
            for text in request.roles {
                guard let role = Role(name: text) else {
                    throw Self.invalid("roles", "roles among \(Role.all.map(\.name).joined(separator: ", "))")
                }
                roles.insert(role)
            }
            roles.insert(.practitioner)
            try Self.requireMayGrant(roles, caller: caller)
            let practitioner = Practitioner(
                id: "p-" + Base32.encode(SecureRandom.bytes(10)).lowercased(), organisationID: organisation.id,
                name: try Self.text(request.name, field: "name", maximum: 200), email: try Self.email(request.email),
                jobRole: try Self.text(request.jobRole, field: "job_role", maximum: 100), roles: roles,
                status: .inactive,
                vetting: try Self.vetting(request.vetting, today: CalendarDay(inEngland: authenticator.clock.now)),
                isLocked: false)
            let (code, hash) = Authenticator.newEnrolmentCode()
            let now = authenticator.clock.now.seconds
            try await store.createPractitioner(
                practitioner, enrolmentCodeHash: hash, enrolmentExpiresAt: now + authenticator.policy.enrolmentValidity,
                now: now)
            return .with {
                $0.account = Self.summary(practitioner)
                $0.enrolmentCode = code
            }
        }
    }

    public func listPractitioners(
        request: Contactpoint_V1_ListPractitionersRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_ListPractitionersResponse {
        try await refusalsAudited(subject: nil) {
            let caller = try Caller.required()
            let scope = try Self.administeredLocalAuthority(caller)
            let practitioners = try await store.practitioners(
                organisationID: request.organisationID.isEmpty ? nil : request.organisationID, localAuthority: scope)
            return .with { $0.practitioners = practitioners.map(Self.summary) }
        }
    }

    public func setAccountStatus(
        request: Contactpoint_V1_SetAccountStatusRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_AccountSummary {
        try await refusalsAudited(subject: request.practitionerID) {
            guard let status = AccountStatus(rawValue: request.status), status != .inactive else {
                throw Self.invalid("status", "active, suspended or closed")
            }
            let byAuditor = try status == .suspended && Self.isAuditorOnly(Caller.required())
            let account =
                byAuditor
                ? try await reviewedAccount(request.practitionerID)
                : try await administeredAccount(request.practitionerID)
            try await store.setStatus(practitionerID: account.id, to: status, now: authenticator.clock.now.seconds)
            return try await summary(of: account.id)
        }
    }

    public func unlock(request: Contactpoint_V1_AccountRequest, context: ServerContext) async throws
        -> Contactpoint_V1_AccountSummary
    {
        try await refusalsAudited(subject: request.practitionerID) {
            let account = try await administeredAccount(request.practitionerID)
            try await store.unlock(practitionerID: account.id, now: authenticator.clock.now.seconds)
            return try await summary(of: account.id)
        }
    }

    public func resetTwoFactor(
        request: Contactpoint_V1_AccountRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_CreatePractitionerResponse {
        try await refusalsAudited(subject: request.practitionerID) {
            let account = try await administeredAccount(request.practitionerID)
            let (code, hash) = Authenticator.newEnrolmentCode()
            let now = authenticator.clock.now.seconds
            try await store.resetCredentials(
                practitionerID: account.id, enrolmentCodeHash: hash,
                enrolmentExpiresAt: now + authenticator.policy.enrolmentValidity, now: now)
            let summary = try await summary(of: account.id)
            return .with {
                $0.account = summary
                $0.enrolmentCode = code
            }
        }
    }

    public func recordVetting(
        request: Contactpoint_V1_RecordVettingRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_AccountSummary {
        try await refusalsAudited(subject: request.practitionerID) {
            let account = try await administeredAccount(request.practitionerID)
            try await store.recordVetting(
                practitionerID: account.id,
                vetting: try Self.vetting(request.vetting, today: CalendarDay(inEngland: authenticator.clock.now)),
                now: authenticator.clock.now.seconds)
            return try await summary(of: account.id)
        }
    }

    // MARK: Gateways

    public func registerGateway(
        request: Contactpoint_V1_RegisterGatewayRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_Gateway {
        try await refusalsAudited(subject: request.organisationID) {
            let caller = try Caller.required()
            let organisation = try await administeredOrganisation(request.organisationID, caller: caller)
            guard organisation.isActive else {
                throw RPCError(code: .failedPrecondition, message: "organisation_id: the organisation is not active")
            }
            let name = try Self.text(request.name, field: "name", maximum: 100)
            let key = request.publicKey.trimmingCharacters(in: .whitespaces)
            guard (try? CurveKey(z85: key)) != nil else {
                throw Self.invalid("public_key", "a CURVE public key in Z85: 40 characters (the gateway's .pub file)")
            }
            guard request.readsAlerts || request.actsForPractitioners else {
                throw Self.invalid(
                    "reads_alerts", "reads_alerts, acts_for_practitioners or both: what the gateway may do")
            }
            let gateway = IdentityStore.Gateway(
                id: "gw-" + Base32.encode(SecureRandom.bytes(8)).lowercased(), organisationID: organisation.id,
                name: name, publicKey: key, readsAlerts: request.readsAlerts,
                actsForPractitioners: request.actsForPractitioners, registeredAt: authenticator.clock.now.seconds,
                registeredBy: caller.practitionerID)
            try await store.registerGateway(gateway)
            return Self.summary(gateway)
        }
    }

    public func revokeGateway(
        request: Contactpoint_V1_RevokeGatewayRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_Gateway {
        try await refusalsAudited(subject: request.gatewayID) {
            let caller = try Caller.required()
            let scope = try Self.administeredLocalAuthority(caller)
            let notFound = RPCError(
                code: .notFound, message: "gateway_id: no gateway \(request.gatewayID) that you administer")
            guard let gateway = try await store.gateway(id: request.gatewayID),
                let organisation = try await store.organisation(id: gateway.organisationID)
            else { throw notFound }
            guard scope == nil || organisation.localAuthority == scope else { throw OutOfReach(answer: notFound) }
            return Self.summary(
                try await store.revokeGateway(id: gateway.id, now: authenticator.clock.now.seconds))
        }
    }

    public func listGateways(
        request: Contactpoint_V1_ListGatewaysRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_ListGatewaysResponse {
        try await refusalsAudited(subject: nil) {
            let scope = try Self.administeredLocalAuthority(try Caller.required())
            let gateways = try await store.gateways(localAuthority: scope)
            return .with { $0.gateways = gateways.map(Self.summary) }
        }
    }

    static func summary(_ gateway: IdentityStore.Gateway) -> Contactpoint_V1_Gateway {
        .with {
            $0.gatewayID = gateway.id
            $0.organisationID = gateway.organisationID
            $0.name = gateway.name
            $0.publicKey = gateway.publicKey
            $0.principal = GatewayPrincipal(organisationID: gateway.organisationID, gatewayID: gateway.id).description
            $0.registeredAt = gateway.registeredAt
            $0.registeredBy = gateway.registeredBy
            $0.readsAlerts = gateway.readsAlerts
            $0.actsForPractitioners = gateway.actsForPractitioners
            $0.revokedAt = gateway.revokedAt ?? 0
            $0.revokedBy = gateway.revokedBy ?? ""
        }
    }

    // MARK: Authorization

    /// A refusal the caller cannot tell from a missing account: an account outside their reach,
    /// answered NOT_FOUND as if it did not exist, and audited as the refusal it is.
    private struct OutOfReach: Error {
        let answer: RPCError
    }

    /// Runs an administration call, recording every refusal to an authenticated caller
    /// (PERMISSION_DENIED, or an account outside their reach) in the audit trail before it is
    /// answered, so that the repeated-denials rule sees it. `subject`: the organisation or account
    /// the call was about.
    private func refusalsAudited<T>(subject: String?, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let refusal as OutOfReach {
            try await recordRefusal(subject: subject, reason: "not-administered")
            throw refusal.answer
        } catch let error as RPCError where error.code == .permissionDenied {
            try await recordRefusal(subject: subject, reason: "not-authorized")
            throw error
        }
    }

    private func recordRefusal(subject: String?, reason: String) async throws {
        guard let caller = Caller.current else { return }
        var event = caller.auditEvent(
            .administrationRefused, category: .administration, outcome: .denied, at: authenticator.clock.now)
        event.subjectID = subject ?? ""
        event.outcomeReason = reason
        try await authenticator.store.writer.write { [event] db in try OutboxTables.appendAudit(event, db) }
    }

    /// `nil` for a system administrator (every local authority), the caller's own local
    /// authority for a local-authority administrator; PERMISSION_DENIED for anyone else.
    private static func administeredLocalAuthority(_ caller: Caller) throws -> String? {
        if caller.hasRole(.systemAdministrator) { return nil }
        if caller.hasRole(.localAuthorityAdministrator) { return caller.localAuthority }
        throw RPCError(code: .permissionDenied, message: "account administration needs an administrator role")
    }

    private static func requireAdministrator(_ caller: Caller, of localAuthority: String) throws {
        if let scope = try administeredLocalAuthority(caller), scope != localAuthority {
            throw RPCError(code: .permissionDenied, message: "you administer accounts of local authority \(scope) only")
        }
    }

    private static func requireMayGrant(_ roles: Set<Role>, caller: Caller) throws {
        if !caller.hasRole(.systemAdministrator), !roles.isDisjoint(with: [.systemAdministrator, .auditor]) {
            throw RPCError(
                code: .permissionDenied,
                message: "only a system administrator grants the system-administrator or auditor role")
        }
    }

    /// An auditor who is not also an administrator: may suspend any account but their own (the
    /// outcome of a misuse review), and do nothing else here.
    private static func isAuditorOnly(_ caller: Caller) -> Bool {
        caller.hasRole(.auditor) && !caller.hasRole(.systemAdministrator)
            && !caller.hasRole(.localAuthorityAdministrator)
    }

    /// The organisation an account or a gateway is created in: it exists (INVALID_ARGUMENT
    /// otherwise) and the caller administers its local authority (PERMISSION_DENIED otherwise).
    private func administeredOrganisation(_ id: String, caller: Caller) async throws -> Organisation {
        guard let organisation = try await store.organisation(id: id) else {
            throw Self.invalid("organisation_id", "an existing organisation")
        }
        try Self.requireAdministrator(caller, of: organisation.localAuthority)
        return organisation
    }

    /// The account an auditor suspends after review: any account but their own.
    private func reviewedAccount(_ practitionerID: String) async throws -> Practitioner {
        let caller = try Caller.required()
        guard let account = try await store.practitioner(id: practitionerID) else {
            throw RPCError(code: .notFound, message: "no account \(practitionerID)")
        }
        if account.id == caller.practitionerID {
            throw RPCError(code: .permissionDenied, message: "auditors do not suspend their own account")
        }
        return account
    }

    /// The account, if the caller administers its organisation's local authority. An account
    /// outside the caller's reach is NOT_FOUND, as if it did not exist.
    private func administeredAccount(_ practitionerID: String) async throws -> Practitioner {
        let caller = try Caller.required()
        let scope = try Self.administeredLocalAuthority(caller)
        let notFound = RPCError(code: .notFound, message: "no account \(practitionerID) that you administer")
        guard let account = try await store.practitioner(id: practitionerID),
            let organisation = try await store.organisation(id: account.organisationID)
        else { throw notFound }
        guard scope == nil || organisation.localAuthority == scope else { throw OutOfReach(answer: notFound) }
        if account.id == caller.practitionerID {
            throw RPCError(code: .permissionDenied, message: "administrators do not administer their own account")
        }
        if account.roles.contains(.systemAdministrator), !caller.hasRole(.systemAdministrator) {
            throw RPCError(
                code: .permissionDenied, message: "only a system administrator administers a system administrator")
        }
        return account
    }

    // MARK: Validation and summaries

    private static func invalid(_ field: String, _ expected: String) -> RPCError {
        RPCError(code: .invalidArgument, message: "\(field): expected \(expected)")
    }

    private static func text(_ text: String, field: String, maximum: Int) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard (1...maximum).contains(trimmed.count),
            !trimmed.contains(where: { $0.isNewline || $0.asciiValue.map { $0 < 32 } == true })
        else { throw invalid(field, "1 to \(maximum) characters on one line") }
        return trimmed
    }

    private static func email(_ text: String) throws -> String {
        // The same rule as an email in configuration (`bootstrap-admin`).
        guard (try? ConfigurationValue.email(text)) != nil else { throw invalid("email", "an email address") }
        return text
    }

    private static func localAuthority(_ text: String) throws -> String {
        guard (3...12).contains(text.count), text.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber) }) else {
            throw invalid("local_authority", "a local-authority code such as E09000033")
        }
        return text
    }

    /// The vetting stated for an account: dates of what has happened, so none is after `today`
    /// (a check that has not happened yet would count as current).
    private static func homePostcode(_ text: String) throws -> String? {
        if text.isEmpty { return nil }
        guard let postcode = Postcode(text) else { throw invalid("vetting.home_postcode", "a UK postcode") }
        return postcode.text
    }

    private static func vetting(_ vetting: Contactpoint_V1_Vetting, today: CalendarDay) throws -> Vetting {
        func date(_ text: String, _ field: String) throws -> CalendarDay? {
            if text.isEmpty { return nil }
            guard let date = CalendarDay(text) else {
                throw invalid("vetting.\(field)", "a date as YYYY-MM-DD that exists on the calendar")
            }
            guard date <= today else {
                throw invalid(
                    "vetting.\(field)", "a date not after today (\(today)): what has not happened yet cannot count")
            }
            return date
        }
        return Vetting(
            criminalRecordsCheckedOn: try date(vetting.criminalRecordsCheckedOn, "criminal_records_checked_on"),
            criminalRecordsReference: vetting.criminalRecordsReference.isEmpty
                ? nil
                : try text(vetting.criminalRecordsReference, field: "vetting.criminal_records_reference", maximum: 40),
            trainingCompletedOn: try date(vetting.trainingCompletedOn, "training_completed_on"),
            userAgreementAcceptedOn: try date(vetting.userAgreementAcceptedOn, "user_agreement_accepted_on"),
            homePostcode: try homePostcode(vetting.homePostcode))
    }

    private func summary(of practitionerID: String) async throws -> Contactpoint_V1_AccountSummary {
        guard let account = try await store.practitioner(id: practitionerID) else {
            throw RPCError(code: .notFound, message: "no account \(practitionerID)")
        }
        return Self.summary(account)
    }

    private static func summary(_ organisation: Organisation) -> Contactpoint_V1_OrganisationSummary {
        .with {
            $0.organisationID = organisation.id
            $0.type = organisation.type.rawValue
            $0.name = organisation.name
            $0.localAuthority = organisation.localAuthority
            $0.active = organisation.isActive
        }
    }

    private static func summary(_ account: Practitioner) -> Contactpoint_V1_AccountSummary {
        .with {
            $0.practitionerID = account.id
            $0.name = account.name
            $0.email = account.email
            $0.organisationID = account.organisationID
            $0.roles = account.roles.map(\.name).sorted()
            $0.status = account.status.rawValue
            $0.locked = account.isLocked
            $0.vetting = .with {
                $0.criminalRecordsCheckedOn = account.vetting.criminalRecordsCheckedOn?.description ?? ""
                $0.criminalRecordsReference = account.vetting.criminalRecordsReference ?? ""
                $0.trainingCompletedOn = account.vetting.trainingCompletedOn?.description ?? ""
                $0.userAgreementAcceptedOn = account.vetting.userAgreementAcceptedOn?.description ?? ""
            }
        }
    }
}

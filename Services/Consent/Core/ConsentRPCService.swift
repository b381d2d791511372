import Authentication
public import ContactPointAPI
import Foundation
public import GRPCCore
import RecordFields
public import ServiceRuntime
import StoreSupport
public import Timekeeping
import Vocabulary

/// The consent service's RPCs. Authorization is on the originating practitioner, deny by
/// default, and a refusal is itself an audit event (``AccessAudit``). Every change is written with
/// its audit and change events in one transaction; a read is audited (group-committed) before
/// anything is returned.
public struct ConsentRPCService: Contactpoint_V1_Consent.SimpleServiceProtocol {
    let store: ConsentStore
    let access: AccessAudit
    let standings: any ChildStandings
    /// The bus principals that may ask for decisions (CheckConsent): the index's, the notification service's.
    let checkers: Set<String>
    /// The bus principals that may record a consent together with the caller's involvement: the index's.
    let involvementRecorders: Set<String>
    let clock: WallClock

    /// - Parameter disclosures: from ``AuditEventStore/accessEventCommitter(name:maximumBatch:)``,
    ///   run as a companion service.
    public init(
        store: ConsentStore, disclosures: GroupCommitter<Contactpoint_V1_AuditEvent, Void>,
        standings: any ChildStandings,
        checkers: Set<String>, involvementRecorders: Set<String>, clock: WallClock
    ) {
        self.store = store
        self.access = AccessAudit(roles: Self.roles, committer: disclosures, clock: clock)
        self.standings = standings
        self.checkers = checkers
        self.involvementRecorders = involvementRecorders
        self.clock = clock
    }

    /// The methods called without a session (authorized on the bus principal instead).
    public static let publicMethods: Set<String> = [
        Contactpoint_V1_Consent.Method.CheckConsent.descriptor.fullyQualifiedMethod
    ]
    /// Who may do what; the handlers add the caller's standing with the child (``authorize(_:forChild:_:reason:)``).
    static let roles: [AuditAction: Set<Role>] = {
        let consent: Set<Role> = [.practitioner, .namedPerson, .localAuthorityAdministrator]
        return [
            .recordConsent: consent, .withdrawConsent: consent, .listConsents: consent,
            .recordOverride: [.namedPerson], .withdrawOverride: [.namedPerson],
        ]
    }()
    /// The most service types one CheckConsent asks about.
    static let maximumChecks = 32

    private var today: String { CalendarDay(inEngland: clock.now).description }

    // MARK: Changes

    public func recordConsent(request: Contactpoint_V1_RecordConsentRequest, context: ServerContext) async throws
        -> Contactpoint_V1_ConsentRecord
    {
        let caller = try Caller.required()
        let today = today
        let consent = try ConsentValidation.consent(request, today: today)
        let standing: Contactpoint_V1_ChildStandingResponse
        if request.withInvolvement {
            // The index vouches that the caller is recording their organisation's involvement of this service.
            guard involvementRecorders.contains(context.remotePeer) else {
                throw RPCError(
                    code: .permissionDenied,
                    message: "with_involvement: only the index records a consent with an involvement")
            }
            guard consent.scope.count == 1 else {
                throw FieldValidation.invalid("scope", "the one service type of the involvement")
            }
            guard caller.hasAnyRole([.practitioner, .namedPerson]) else {
                try await access.refuse(
                    caller, .recordConsent, "only practitioners record their service's involvement",
                    childID: consent.childID)
            }
            standing = try await self.standing(ofChild: consent.childID, for: caller)
        } else {
            standing = try await authorize(caller, forChild: consent.childID, .recordConsent)
        }
        try ConsentValidation.notBeforeBirth(consent, bornOn: standing.dateOfBirth)
        return try await store.record(
            consent, by: actor(caller), now: clock.now.milliseconds, today: today,
            audit: access.event(caller, .recordConsent, category: .change),
            write: try IdempotentWrite.current(request: request))
    }

    public func recordOverride(request: Contactpoint_V1_RecordOverrideRequest, context: ServerContext) async throws
        -> Contactpoint_V1_ConsentRecord
    {
        let caller = try Caller.required()
        let today = today
        let override = try ConsentValidation.override(request, today: today)
        let refusal: String? =
            if !caller.hasRole(.namedPerson) {
                "a consent override needs the named-person role"
            } else if !access.hasSteppedUp(caller) {
                "a consent override needs a TOTP code entered within the last 5 minutes: run `contactpoint step-up`"
            } else { nil }
        if let refusal {
            try await access.refuse(caller, .recordOverride, refusal, childID: override.childID) {
                $0.override = .consent
            }
        }
        _ = try await standing(ofChild: override.childID, for: caller)
        return try await store.record(
            override, by: actor(caller), now: clock.now.milliseconds, today: today,
            audit: access.event(caller, .recordOverride, category: .change) {
                $0.override = .consent
                $0.outcomeReason = override.justification.code!
            }, write: try IdempotentWrite.current(request: request))
    }

    public func withdraw(request: Contactpoint_V1_WithdrawRequest, context: ServerContext) async throws
        -> Contactpoint_V1_ConsentRecord
    {
        let caller = try Caller.required()
        let today = today
        let id = try ConsentValidation.consentID(request.consentID)
        let write = try IdempotentWrite.current(request: request)
        // A retry is answered as the withdrawal was, not refused as a second one.
        if let earlier = try await store.writer.earlierResponse(write, as: Contactpoint_V1_ConsentRecord.self) {
            return earlier
        }
        guard let existing = try await store.consent(id: id, today: today) else {
            throw RPCError(code: .notFound, message: "consent_id: no consent or override \(id)")
        }
        if existing.kind == .override {
            try await access.authorize(caller, .withdrawOverride, childID: existing.childID)
        } else {
            try await authorize(caller, forChild: existing.childID, .withdrawConsent)
        }
        let action: AuditAction = existing.kind == .override ? .withdrawOverride : .withdrawConsent
        return try await store.withdraw(
            id: id, by: actor(caller), now: clock.now.milliseconds, today: today,
            audit: access.event(caller, action, category: .change), write: write)
    }

    // MARK: Reads

    public func checkConsent(request: Contactpoint_V1_CheckConsentRequest, context: ServerContext) async throws
        -> Contactpoint_V1_CheckConsentResponse
    {
        // The bus transport gives the principal the broker authenticated as the remote peer.
        guard checkers.contains(context.remotePeer) else {
            throw RPCError(
                code: .permissionDenied,
                message: "only the services listed in the consent service's checker setting ask for decisions")
        }
        let childID = try FieldValidation.childID(request.childID, "child_id").digits
        guard (1...Self.maximumChecks).contains(request.serviceTypes.count) else {
            throw FieldValidation.invalid("service_types", "1–\(Self.maximumChecks) service types")
        }
        for (index, type) in request.serviceTypes.enumerated() where type.code == nil {
            throw FieldValidation.invalid("service_types[\(index)]", "an unknown service type")
        }
        let decisions = try await store.decisions(childID: childID, serviceTypes: request.serviceTypes, today: today)
        return .with { $0.decisions = decisions }
    }

    public func listConsents(request: Contactpoint_V1_ListConsentsRequest, context: ServerContext) async throws
        -> Contactpoint_V1_ListConsentsResponse
    {
        let caller = try Caller.required()
        let reason = try FieldValidation.reason(request.reason, hasReason: request.hasReason)
        let childID = try FieldValidation.childID(request.childID, "child_id").digits
        let standing = try await authorize(caller, forChild: childID, .listConsents, reason: reason)
        var consents = try await store.consents(ofChild: childID, today: today)
        // A shielded child's consents name no parent and no other organisation (docs/INDEX.md,
        // *Shielding and override*): the child's own local authority's administrators see them whole.
        let administers =
            caller.hasRole(.localAuthorityAdministrator) && standing.localAuthority == caller.localAuthority
        if standing.shielded, !administers {
            consents = consents.map { Self.shieldedView(of: $0, for: caller) }
        }
        try await access.record(
            access.event(caller, .listConsents, category: .disclosure, reason: reason) {
                $0.childIds = [childID]
                $0.disclosedFields = consents.isEmpty ? [] : ["consents"]
            })
        return .with { $0.consents = consents }
    }

    /// A consent as a shielded child's shows it: no parent's name, and who recorded or withdrew
    /// it only when that was the caller's own organisation.
    static func shieldedView(of consent: Contactpoint_V1_ConsentRecord, for caller: Caller)
        -> Contactpoint_V1_ConsentRecord
    {
        var shown = consent
        shown.clearGiverName()
        if consent.recordedByOrganisation != caller.organisationID {
            shown.recordedBy = ""
            shown.recordedByOrganisation = ""
            shown.withdrawnBy = ""
        }
        return shown
    }

    // MARK: Authorization and audit

    /// Allows practitioners of an organisation actively involved with the child, named persons, and
    /// local-authority administrators of the child's authority; NOT_FOUND for a child not on the
    /// index. Returns the child's standing.
    @discardableResult
    private func authorize(
        _ caller: Caller, forChild childID: String, _ action: AuditAction, reason: Contactpoint_V1_AccessReason? = nil
    ) async throws -> Contactpoint_V1_ChildStandingResponse {
        try await access.authorize(caller, action, reason: reason, childID: childID)
        let standing = try await standing(ofChild: childID, for: caller)
        let administers =
            caller.hasRole(.localAuthorityAdministrator) && standing.localAuthority == caller.localAuthority
        let involved = caller.hasRole(.practitioner) && standing.organisationInvolved
        guard caller.hasRole(.namedPerson) || administers || involved else {
            try await access.refuse(
                caller, action,
                """
                only practitioners of an organisation involved with the child, named persons and the child's \
                local-authority administrators record or read consents
                """,
                reason: reason, childID: childID)
        }
        return standing
    }

    private func standing(ofChild childID: String, for caller: Caller) async throws
        -> Contactpoint_V1_ChildStandingResponse
    {
        let standing: Contactpoint_V1_ChildStandingResponse?
        do {
            standing = try await standings.standing(ofChild: childID, organisationID: caller.organisationID)
        } catch {
            throw RPCError(code: .unavailable, message: "the index cannot be reached to check the child: try again")
        }
        guard let standing else {
            throw RPCError(code: .notFound, message: "child_id: no child \(childID) on the index")
        }
        return standing
    }

    private func actor(_ caller: Caller) -> ConsentStore.Actor {
        .init(practitionerID: caller.practitionerID, organisationID: caller.organisationID)
    }
}

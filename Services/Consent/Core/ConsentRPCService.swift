public import Authentication
public import ContactPointAPI
import Foundation
public import GRPCCore
import RecordFields

/// The consent service's RPCs. Authorization is on the originating practitioner, deny by
/// default, and a refusal is itself an audit event. Every change is written with its audit and
/// change events in one transaction; a read is audited before anything is returned.
public struct ConsentRPCService: Contactpoint_V1_Consent.SimpleServiceProtocol {
    let store: ConsentStore
    let standings: any ChildStandings
    /// The bus principals that may ask for decisions (CheckConsent): the index's, the notification service's.
    let checkers: Set<String>
    /// The bus principals that may record a consent together with the caller's involvement: the index's.
    let involvementRecorders: Set<String>
    /// Unix milliseconds now.
    let clock: @Sendable () -> Int64

    public init(
        store: ConsentStore, standings: any ChildStandings, checkers: Set<String>, involvementRecorders: Set<String>,
        clock: @escaping @Sendable () -> Int64
    ) {
        self.store = store
        self.standings = standings
        self.checkers = checkers
        self.involvementRecorders = involvementRecorders
        self.clock = clock
    }

    /// The methods called without a session (authorized on the bus principal instead).
    public static let publicMethods: Set<String> = [Contactpoint_V1_Consent.Method.CheckConsent.descriptor.fullyQualifiedMethod]
    /// Who may record and read consents, given their standing with the child.
    static let consentRoles: Set<String> = ["practitioner", "named-person", "la-administrator"]
    /// The most service types one CheckConsent asks about.
    static let maximumChecks = 32

    private var today: String { CalendarDay.today(Date(timeIntervalSince1970: Double(clock()) / 1000)) }

    // MARK: Changes

    public func recordConsent(request: Contactpoint_V1_RecordConsentRequest, context: ServerContext) async throws -> Contactpoint_V1_ConsentRecord {
        let caller = try Caller.required()
        let today = today
        let consent = try ConsentValidation.consent(request, today: today)
        if request.withInvolvement {
            // The index vouches that the caller is recording their organisation's involvement of this service.
            guard involvementRecorders.contains(context.remotePeer) else {
                throw RPCError(code: .permissionDenied, message: "with_involvement: only the index records a consent with an involvement")
            }
            guard consent.scope.count == 1 else { throw FieldValidation.invalid("scope", "the one service type of the involvement") }
            guard caller.hasRole("practitioner") || caller.hasRole("named-person") else {
                try await refuse(caller, action: "record-consent", "only practitioners record their service's involvement", childID: consent.childID)
            }
            _ = try await standing(ofChild: consent.childID, for: caller)
        } else {
            try await authorize(caller, forChild: consent.childID, action: "record-consent")
        }
        return try await store.record(
            consent, by: actor(caller), now: clock(), today: today, audit: event(caller, action: "record-consent", category: .change))
    }

    public func recordOverride(request: Contactpoint_V1_RecordOverrideRequest, context: ServerContext) async throws -> Contactpoint_V1_ConsentRecord {
        let caller = try Caller.required()
        let today = today
        let override = try ConsentValidation.override(request, today: today)
        let refusal: String? =
            if !caller.hasRole("named-person") { "a consent override needs the named-person role" }
            else if !caller.hasSteppedUp(now: clock() / 1000) {
                "a consent override needs a TOTP code entered within the last 5 minutes: run `contactpoint step-up`"
            } else { nil }
        if let refusal {
            try await refuse(caller, action: "record-override", refusal, childID: override.childID, isOverride: true)
        }
        _ = try await standing(ofChild: override.childID, for: caller)
        return try await store.record(
            override, by: actor(caller), now: clock(), today: today,
            audit: event(caller, action: "record-override", category: .change) {
                $0.override = .consent
                $0.outcomeReason = override.justification.code!
            })
    }

    public func withdraw(request: Contactpoint_V1_WithdrawRequest, context: ServerContext) async throws -> Contactpoint_V1_ConsentRecord {
        let caller = try Caller.required()
        let today = today
        let id = try ConsentValidation.consentID(request.consentID)
        guard let existing = try await store.consent(id: id, today: today) else {
            throw RPCError(code: .notFound, message: "consent_id: no consent or override \(id)")
        }
        let action = existing.kind == .override ? "withdraw-override" : "withdraw-consent"
        if existing.kind == .override {
            guard caller.hasRole("named-person") else {
                try await refuse(caller, action: action, "only a named person ends an override", childID: existing.childID)
            }
        } else {
            try await authorize(caller, forChild: existing.childID, action: action)
        }
        do {
            return try await store.withdraw(
                id: id, by: actor(caller), now: clock(), today: today, audit: event(caller, action: action, category: .change))
        } catch ConsentStoreError.alreadyWithdrawn {
            throw RPCError(code: .failedPrecondition, message: "consent_id: \(id) was already withdrawn")
        }
    }

    // MARK: Reads

    public func checkConsent(request: Contactpoint_V1_CheckConsentRequest, context: ServerContext) async throws -> Contactpoint_V1_CheckConsentResponse {
        // The bus transport gives the principal the broker authenticated as the remote peer.
        guard checkers.contains(context.remotePeer) else {
            throw RPCError(code: .permissionDenied, message: "only the services listed in the consent service's checker setting ask for decisions")
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

    public func listConsents(request: Contactpoint_V1_ListConsentsRequest, context: ServerContext) async throws -> Contactpoint_V1_ListConsentsResponse {
        let caller = try Caller.required()
        let reason = try FieldValidation.reason(request.reason, hasReason: request.hasReason)
        let childID = try FieldValidation.childID(request.childID, "child_id").digits
        try await authorize(caller, forChild: childID, action: "list-consents", reason: reason)
        let consents = try await store.consents(ofChild: childID, today: today)
        try await recordAudit(
            event(caller, action: "list-consents", category: .disclosure, reason: reason) {
                $0.childIds = [childID]
                $0.disclosedFields = consents.isEmpty ? [] : ["consents"]
            })
        return .with { $0.consents = consents }
    }

    // MARK: Authorization and audit

    /// Allows practitioners of an organisation actively involved with the child, named persons, and
    /// local-authority administrators of the child's authority; NOT_FOUND for a child not on the index.
    private func authorize(_ caller: Caller, forChild childID: String, action: String, reason: Contactpoint_V1_AccessReason? = nil) async throws {
        let refusal = "only practitioners of an organisation involved with the child, named persons and the child's local-authority administrators record or read consents"
        guard !Self.consentRoles.isDisjoint(with: caller.claims.roles) else {
            try await refuse(caller, action: action, refusal, childID: childID, reason: reason)
        }
        let standing = try await standing(ofChild: childID, for: caller)
        let administers = caller.hasRole("la-administrator") && standing.localAuthority == caller.localAuthority
        let involved = caller.hasRole("practitioner") && standing.organisationInvolved
        guard caller.hasRole("named-person") || administers || involved else { try await refuse(caller, action: action, refusal, childID: childID, reason: reason) }
    }

    private func standing(ofChild childID: String, for caller: Caller) async throws -> Contactpoint_V1_ChildStandingResponse {
        let standing: Contactpoint_V1_ChildStandingResponse?
        do {
            standing = try await standings.standing(ofChild: childID, organisationID: caller.organisationID)
        } catch {
            throw RPCError(code: .unavailable, message: "the index cannot be reached to check the child: try again")
        }
        guard let standing else { throw RPCError(code: .notFound, message: "child_id: no child \(childID) on the index") }
        return standing
    }

    /// Records a refusal in the audit trail, then refuses with PERMISSION_DENIED.
    private func refuse(
        _ caller: Caller, action: String, _ message: String, childID: String, reason: Contactpoint_V1_AccessReason? = nil, isOverride: Bool = false
    ) async throws -> Never {
        try await recordAudit(
            event(caller, action: action, category: .disclosure, reason: reason, outcome: .denied) {
                $0.childIds = [childID]
                $0.outcomeReason = "not-authorized"
                if isOverride { $0.override = .consent }
            })
        throw RPCError(code: .permissionDenied, message: message)
    }

    /// Makes an audit event durable in the outbox; if it cannot, the caller gets UNAVAILABLE and
    /// nothing is disclosed.
    private func recordAudit(_ event: Contactpoint_V1_AuditEvent) async throws {
        do {
            try await store.appendAuditEvents([event])
        } catch {
            throw RPCError(code: .unavailable, message: "the access cannot be recorded in the audit trail, so nothing is disclosed: try again")
        }
    }

    private func actor(_ caller: Caller) -> ConsentStore.Actor {
        .init(practitionerID: caller.practitionerID, organisationID: caller.organisationID)
    }

    private func event(
        _ caller: Caller, action: String, category: Contactpoint_V1_AuditCategory, reason: Contactpoint_V1_AccessReason? = nil,
        outcome: Contactpoint_V1_AuditOutcome = .permitted, _ configure: (inout Contactpoint_V1_AuditEvent) -> Void = { _ in }
    ) -> Contactpoint_V1_AuditEvent {
        var event = caller.auditEvent(service: "consent", action: action, category: category, outcome: outcome, nowMilliseconds: clock())
        if let reason {
            event.reasonCode = reason.code.code ?? ""
            event.reasonText = reason.text
        }
        configure(&event)
        return event
    }
}

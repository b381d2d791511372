import Authentication
public import ConsentClient
public import ContactPointAPI
import Foundation
public import GRPCCore
import Identifiers
import RecordFields
public import ServiceRuntime
import StoreSupport
public import Timekeeping
import Vocabulary

/// The index's RPCs. Every call needs a session; authorization is on the originating
/// practitioner's roles and organisation, deny by default, and a refusal is itself an audit
/// event. Nothing is disclosed before its access event is durable in the audit outbox.
public struct IndexRPCService: Contactpoint_V1_Index.SimpleServiceProtocol {
    let store: IndexStore
    let access: AccessAudit
    let consent: any ConsentDecisions
    let nicknames: Nicknames
    /// The bus principals that may ask for a child's standing (ChildStanding).
    let standingReaders: Set<String>
    let clock: WallClock

    /// - Parameter disclosures: from ``AuditEventStore/accessEventCommitter(name:maximumBatch:)``,
    ///   run as a companion service.
    public init(
        store: IndexStore, disclosures: GroupCommitter<Contactpoint_V1_AuditEvent, Void>, consent: any ConsentDecisions,
        nicknames: Nicknames = .standard, standingReaders: Set<String> = [], clock: WallClock
    ) {
        self.store = store
        self.access = AccessAudit(
            roles: Self.roles, committer: disclosures, stepUpWindow: Self.stepUpWindow, clock: clock)
        self.consent = consent
        self.nicknames = nicknames
        self.standingReaders = standingReaders
        self.clock = clock
    }

    /// The methods called without a session (authorized on the bus principal instead).
    public static let publicMethods: Set<String> = [
        Contactpoint_V1_Index.Method.ChildStanding.descriptor.fullyQualifiedMethod
    ]

    /// Who may do what; the handlers add what depends on the child (its authority, a shield).
    static let roles: [AuditAction: Set<Role>] = {
        let lookup: Set<Role> = [.practitioner, .namedPerson, .localAuthorityAdministrator]
        let involvement: Set<Role> = [.practitioner, .namedPerson]
        let administration: Set<Role> = [.localAuthorityAdministrator, .systemAdministrator]
        return [
            .search: lookup, .viewRecord: lookup, .putChildren: administration,
            .shield: [.localAuthorityAdministrator], .unshield: [.localAuthorityAdministrator],
            .recordInvolvement: involvement, .endInvolvement: involvement, .raiseIndicator: involvement,
            .clearIndicator: involvement, .setLeadProfessional: involvement, .clearLeadProfessional: involvement,
        ]
    }()
    /// How recent a TOTP code must be for a shield override.
    static let stepUpWindow: Duration = .seconds(300)

    private var today: String { CalendarDay(inEngland: clock.now).description }

    // MARK: Disclosure

    public func searchChildren(
        request: Contactpoint_V1_SearchChildrenRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_SearchChildrenResponse {
        let caller = try Caller.required()
        let reason = try FieldValidation.reason(request.reason, hasReason: request.hasReason)
        let query = try SearchQuery(request, today: today, nicknames: nicknames)
        try await access.authorize(caller, .search, reason: reason)
        let (ranked, truncated) = try await store.search(query)
        let page = ranked.prefix(SearchQuery.pageSize)
        let matches = page.map { entry in
            Contactpoint_V1_SearchMatch.with {
                let child = entry.candidate
                $0.childID = IndexStore.childID(child.id)
                $0.givenName = child.names[0].given
                $0.familyName = child.names[0].family
                $0.dateOfBirth = child.dateOfBirth
                $0.gender = child.gender
                $0.localAuthority = child.localAuthority
                if !child.shielded, let postcode = child.postcode {
                    $0.postcodeDistrict = String(Postcode.outward(of: postcode))
                }
                $0.score = UInt32((entry.score * 100).rounded())
            }
        }
        let nearHome = page.contains {
            Self.sharesSurnameAndPostcode(caller, family: $0.candidate.names[0].family, postcode: $0.candidate.postcode)
        }
        try await access.record(
            access.event(caller, .search, category: .disclosure, reason: reason) {
                $0.childIds = matches.map(\.childID)
                if nearHome { $0.access.sharesCallerSurnameAndPostcode = true }
                $0.disclosedFields =
                    matches.isEmpty ? [] : ["name", "date_of_birth", "gender", "local_authority", "postcode_district"]
            })
        return .with {
            $0.matches = matches
            $0.moreMatches = truncated || ranked.count > page.count
        }
    }

    public func viewRecord(request: Contactpoint_V1_ViewRecordRequest, context: ServerContext) async throws
        -> Contactpoint_V1_ChildRecord
    {
        let caller = try Caller.required()
        let reason = try FieldValidation.reason(request.reason, hasReason: request.hasReason)
        let childID = try FieldValidation.childID(request.childID, "child_id")
        let overriding = request.hasShieldOverride
        if overriding, request.shieldOverride.justification.code == nil {
            throw FieldValidation.invalid(
                "shield_override.justification",
                Contactpoint_V1_ShieldOverrideJustification.codes.joined(separator: ", "))
        }
        try await access.authorize(caller, .viewRecord, reason: reason, childID: childID.digits)
        if overriding {
            let refusal: String? =
                if !caller.hasRole(.namedPerson) {
                    "a shield override needs the named-person role"
                } else if !access.hasSteppedUp(caller) {
                    "a shield override needs a TOTP code entered within the last 5 minutes: run `contactpoint step-up`"
                } else { nil }
            if let refusal {
                try await access.refuse(caller, .viewRecord, refusal, reason: reason, childID: childID.digits) {
                    $0.override = .shield
                    $0.outcomeReason = "shield-override-refused"
                }
            }
        }
        guard let stored = try await store.record(ofChild: childID) else {
            throw RPCError(code: .notFound, message: "child_id: no child \(childID.digits) on the index")
        }
        let overridden = overriding && stored.shielded
        let redacted = stored.shielded && !overridden
        var record = Contactpoint_V1_ChildRecord.with {
            $0.child = stored.child
            $0.shielded = stored.shielded
            $0.shieldOverridden = overridden
        }
        var disclosed = ["name", "other_names", "date_of_birth", "gender", "local_authority", "status"]
        if redacted {
            record.child.clearAddress()
            record.child.previousAddresses = []
            record.child.carers = []
        } else {
            disclosed += ["address", "previous_addresses", "carers"]
        }
        // A shielded record shows no other organisation's involvement: which school or surgery a
        // child attends is where the child is. The caller's own organisation's involvements are
        // theirs already.
        let shown = stored.involvements.filter { !redacted || $0.organisationID == caller.organisationID }
        let askConsent = Set(
            shown.filter { $0.sensitive && $0.organisationID != caller.organisationID }.map(\.serviceType))
        // Fail closed: when the consent service cannot answer, no other organisation's sensitive involvement is shown.
        let consented =
            askConsent.isEmpty ? [] : ((try? await consent.allowed(askConsent, childID: childID.digits)) ?? [])
        for involvement in shown {
            let own = involvement.organisationID == caller.organisationID
            if involvement.sensitive, !own, !consented.contains(involvement.serviceType) { continue }
            record.involvements.append(involvement)
        }
        if !record.involvements.isEmpty {
            disclosed += ["involvements", "indicators", "involvement_contacts"]
        }
        try await access.record(
            access.event(caller, .viewRecord, category: .disclosure, reason: reason) {
                $0.childIds = [childID.digits]
                $0.disclosedFields = disclosed
                if overridden {
                    $0.override = .shield
                    $0.outcomeReason = request.shieldOverride.justification.code!
                }
                $0.access = .with {
                    $0.childLocalAuthority = stored.child.localAuthority
                    $0.callerOrganisationInvolved = stored.involvements.contains {
                        $0.organisationID == caller.organisationID && $0.endDate.isEmpty
                    }
                    $0.sharesCallerSurnameAndPostcode = Self.sharesSurnameAndPostcode(
                        caller, family: stored.child.name.family,
                        postcode: stored.child.hasAddress ? stored.child.address.postcode : nil)
                }
            })
        return record
    }

    /// Whether the child shares the caller's family name and lives at their home postcode (from
    /// their vetting, in the session): a practitioner looking up their own family or neighbours,
    /// which the audit service queues for review. The family name is the end of the caller's name,
    /// compared folded ("Asha Smith-Jones" shares "smith jones", not "jones" alone).
    static func sharesSurnameAndPostcode(_ caller: Caller, family: String, postcode: String?) -> Bool {
        guard let home = caller.claims.homePostcode, let postcode, postcode == home,
            let name = caller.claims.name
        else { return false }
        let theirs = NameMatching.fold(family)
        let callers = NameMatching.fold(name)
        return !theirs.isEmpty && (callers == theirs || callers.hasSuffix(" " + theirs))
    }

    // MARK: Children

    /// The most children one PutChildren call takes.
    static let maximumBatch = 1000

    public func putChildren(request: Contactpoint_V1_PutChildrenRequest, context: ServerContext) async throws
        -> Contactpoint_V1_PutChildrenResponse
    {
        let caller = try Caller.required()
        guard (1...Self.maximumBatch).contains(request.children.count) else {
            throw FieldValidation.invalid("children", "1–\(Self.maximumBatch) children per call")
        }
        let entries = try RecordValidation.entries(request.children, today: today)
        try await access.authorize(caller, .putChildren)
        if !caller.hasRole(.systemAdministrator) {
            for (index, entry) in entries.enumerated() {
                var authorities = [entry.child.localAuthority]
                if let id = ContactPointID(entry.child.childID),
                    let current = try await store.localAuthority(ofChild: id)
                {
                    authorities.append(current)
                }
                if authorities.contains(where: { $0 != caller.localAuthority }) {
                    try await access.refuse(
                        caller, .putChildren,
                        """
                        children[\(index)].child.local_authority: an administrator of \(caller.localAuthority) \
                        changes only that authority's children
                        """
                    )
                }
            }
        }
        let result = try await store.putChildren(
            entries, by: caller.auditActor, now: clock.now.milliseconds,
            audit: access.event(caller, .putChildren, category: .change),
            adults: .init(today: CalendarDay(inEngland: clock.now), skip: request.skipAdults),
            write: try IdempotentWrite.current(request: request))
        return .with {
            $0.childIds = result.childIDs
            $0.created = UInt32(result.created)
            $0.updated = UInt32(result.updated)
            $0.skippedAdults = UInt32(result.skippedAdults)
        }
    }

    public func setShield(request: Contactpoint_V1_SetShieldRequest, context: ServerContext) async throws
        -> Contactpoint_V1_SetShieldResponse
    {
        let caller = try Caller.required()
        let childID = try FieldValidation.childID(request.childID, "child_id")
        let action: AuditAction = request.shielded ? .shield : .unshield
        try await access.authorize(caller, action, childID: childID.digits)
        guard let authority = try await store.localAuthority(ofChild: childID) else {
            throw RPCError(code: .notFound, message: "child_id: no child \(childID.digits) on the index")
        }
        guard authority == caller.localAuthority else {
            try await access.refuse(
                caller, action, "only the child's own local authority (\(authority)) shields its record",
                childID: childID.digits)
        }
        try await store.setShield(
            request.shielded, childID: childID, audit: access.event(caller, action, category: .change))
        return .with {
            $0.childID = childID.digits
            $0.shielded = request.shielded
        }
    }

    // MARK: Involvements

    public func recordInvolvement(request: Contactpoint_V1_RecordInvolvementRequest, context: ServerContext)
        async throws -> Contactpoint_V1_Involvement
    {
        let caller = try Caller.required()
        let childID = try FieldValidation.childID(request.childID, "child_id")
        var details = request.involvement
        if details.organisationID.isEmpty { details.organisationID = caller.organisationID }
        let involvement = try RecordValidation.involvement(details, "involvement", today: today)
        try await access.authorize(caller, .recordInvolvement, childID: childID.digits)
        guard involvement.organisationID == caller.organisationID else {
            try await access.refuse(
                caller, .recordInvolvement,
                "involvement.organisation_id: a practitioner records only their own organisation's involvement",
                childID: childID.digits)
        }
        let write = try IdempotentWrite.current(request: request)
        // A retry is answered before the consent it carries is recorded again.
        if let earlier = try await store.writer.earlierResponse(write, as: Contactpoint_V1_Involvement.self) {
            return earlier
        }
        if request.hasConsent, !involvement.serviceType.isSensitive {
            throw FieldValidation.invalid(
                "consent",
                "only a sensitive service's involvement needs consent; \(involvement.serviceType.code!) does not")
        }
        if involvement.serviceType.isSensitive, request.hasConsent {
            var given = request.consent
            guard given.childID.isEmpty || given.childID == childID.digits,
                given.scope.isEmpty || given.scope == [involvement.serviceType]
            else {
                throw FieldValidation.invalid("consent", "its child and scope are the involvement's: leave them empty")
            }
            given.childID = childID.digits
            given.scope = [involvement.serviceType]
            // Recorded, it stands (its last day is today or later): no need to ask again.
            try await consent.recordConsent(given)
        } else if involvement.serviceType.isSensitive,
            !(try await consentAllows(involvement.serviceType, childID: childID))
        {
            throw RPCError(
                code: .failedPrecondition,
                message:
                    """
                    a \(involvement.serviceType.code!) involvement is recorded only with the consent of the child \
                    or a parent, or a named-person override: give the consent with the involvement \
                    (`--consent-given-by`) or record it with `contactpoint consent record` first
                    """
            )
        }
        return try await store.recordInvolvement(
            involvement, childID: childID, by: caller.practitionerID, now: clock.now.milliseconds,
            audit: access.event(caller, .recordInvolvement, category: .change), write: write)
    }

    private func consentAllows(_ serviceType: Contactpoint_V1_ServiceType, childID: ContactPointID) async throws -> Bool
    {
        do {
            return try await consent.allowed([serviceType], childID: childID.digits).contains(serviceType)
        } catch {
            throw RPCError(
                code: .unavailable,
                message: "the consent service cannot be reached to allow a \(serviceType.code!) involvement: try again")
        }
    }

    public func endInvolvement(request: Contactpoint_V1_EndInvolvementRequest, context: ServerContext) async throws
        -> Contactpoint_V1_Involvement
    {
        let date =
            request.endDate.isEmpty ? today : try FieldValidation.pastDate(request.endDate, "end_date", today: today)
        return try await change(
            request.involvementID, .end(on: date), action: .endInvolvement,
            write: try IdempotentWrite.current(request: request))
    }

    public func setIndicator(request: Contactpoint_V1_SetIndicatorRequest, context: ServerContext) async throws
        -> Contactpoint_V1_Involvement
    {
        guard request.kind.code != nil else {
            throw FieldValidation.invalid("kind", Contactpoint_V1_IndicatorKind.codes.joined(separator: ", "))
        }
        return try await change(
            request.involvementID, .indicator(request.kind, raised: request.raised, on: today),
            action: request.raised ? .raiseIndicator : .clearIndicator,
            write: try IdempotentWrite.current(request: request))
    }

    public func setLeadProfessional(
        request: Contactpoint_V1_SetLeadProfessionalRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_Involvement {
        try await change(
            request.involvementID, .lead(request.lead),
            action: request.lead ? .setLeadProfessional : .clearLeadProfessional,
            write: try IdempotentWrite.current(request: request))
    }

    private func change(
        _ involvementID: String, _ change: IndexStore.InvolvementChange, action: AuditAction, write: IdempotentWrite?
    ) async throws -> Contactpoint_V1_Involvement {
        let caller = try Caller.required()
        guard !involvementID.isEmpty, involvementID.count <= 32,
            involvementID.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") })
        else {
            throw FieldValidation.invalid("involvement_id", "an involvement id as the index gave it")
        }
        try await access.authorize(caller, action)
        do {
            return try await store.change(
                involvement: involvementID, change, organisationID: caller.organisationID, by: caller.practitionerID,
                now: clock.now.milliseconds,
                audit: access.event(caller, action, category: .change), write: write)
        } catch IndexStoreError.notYourOrganisation {
            try await access.refuse(
                caller, action, IndexStoreError.notYourOrganisation.rpcErrorMessage,
                subject: "involvement-\(involvementID)")
        }
    }

    // MARK: For other services

    public func childStanding(
        request: Contactpoint_V1_ChildStandingRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_ChildStandingResponse {
        // The bus transport gives the principal the broker authenticated as the remote peer.
        guard standingReaders.contains(context.remotePeer) else {
            throw RPCError(
                code: .permissionDenied,
                message: "only the services listed in the index's standing-reader setting ask for a child's standing")
        }
        let childID = try FieldValidation.childID(request.childID, "child_id")
        let organisationID = try FieldValidation.organisationID(request.organisationID, "organisation_id")
        guard let standing = try await store.standing(ofChild: childID, organisationID: organisationID) else {
            throw RPCError(code: .notFound, message: "child_id: no child \(childID.digits) on the index")
        }
        return standing
    }
}

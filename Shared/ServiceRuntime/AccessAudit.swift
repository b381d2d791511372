public import Authentication
public import ContactPointAPI
import GRPCCore
import Identifiers
import RecordFields
public import Timekeeping
public import Vocabulary

/// Audit before disclosure, one rule for every service that discloses: authorization is on the
/// originating caller (``Caller``), against the roles each action is declared to need, deny by
/// default; a refusal is itself an audit event, recorded before PERMISSION_DENIED; and an
/// access's event is durable (group-committed with other callers' events) before anything it
/// describes is returned.
public struct AccessAudit: Sendable {
    /// Who may do each action: a caller needs one of its roles. An action not listed is refused
    /// to everyone.
    public let roles: [AuditAction: Set<Role>]
    /// How recent a TOTP code must be for the event to say the caller had stepped up.
    public let stepUpWindow: Duration
    let clock: WallClock
    let instance: String
    let append: @Sendable (Contactpoint_V1_AuditEvent) async throws -> Void

    /// - Parameter committer: the service's group commit into its audit outbox
    ///   (``AuditEventStore/accessEventCommitter(name:maximumBatch:)``), run as a companion service.
    public init(
        roles: [AuditAction: Set<Role>], committer: GroupCommitter<Contactpoint_V1_AuditEvent, Void>,
        stepUpWindow: Duration = .seconds(300),
        clock: WallClock
    ) {
        self.init(roles: roles, stepUpWindow: stepUpWindow, instance: "", clock: clock) {
            try await committer.submit($0)
        }
    }

    /// For the audit service itself, whose events go straight into its log: `append` returns
    /// once the event is durable.
    public init(
        roles: [AuditAction: Set<Role>], stepUpWindow: Duration = .seconds(300), instance: String,
        clock: WallClock,
        append: @escaping @Sendable (Contactpoint_V1_AuditEvent) async throws -> Void
    ) {
        self.roles = roles
        self.stepUpWindow = stepUpWindow
        self.instance = instance
        self.clock = clock
        self.append = append
    }

    /// Refuses, with an audited refusal, a caller who holds none of the roles `action` needs.
    public func authorize(
        _ caller: Caller, _ action: AuditAction, reason: Contactpoint_V1_AccessReason? = nil, childID: String? = nil
    ) async throws {
        let allowed = roles[action] ?? []
        guard caller.hasAnyRole(allowed) else {
            let message =
                allowed.isEmpty
                ? "no role may do \(action)"
                : "this needs one of the roles \(allowed.sorted().map(\.name).joined(separator: ", "))"
            try await refuse(caller, action, message, reason: reason, childID: childID)
        }
    }

    /// Records a refusal of `action` in the audit trail, then refuses with PERMISSION_DENIED and
    /// `message`. `configure` adds to the event (an override refused, say).
    public func refuse(
        _ caller: Caller, _ action: AuditAction, _ message: String, reason: Contactpoint_V1_AccessReason? = nil,
        childID: String? = nil,
        subject: String? = nil, _ configure: (inout Contactpoint_V1_AuditEvent) -> Void = { _ in }
    ) async throws -> Never {
        try await record(
            event(caller, action, category: .disclosure, reason: reason, outcome: .denied) {
                if let childID { $0.childIds = [childID] }
                if let subject { $0.subjectID = subject }
                $0.outcomeReason = "not-authorized"
                configure(&$0)
            })
        throw RPCError(code: .permissionDenied, message: message)
    }

    /// Makes an access event durable; if it cannot, the caller gets UNAVAILABLE and nothing is
    /// disclosed.
    public func record(_ event: Contactpoint_V1_AuditEvent) async throws {
        do {
            try await append(event)
        } catch {
            throw RPCError(
                code: .unavailable,
                message: "the access cannot be recorded in the audit trail, so nothing is disclosed: try again")
        }
    }

    /// An event of the caller's `action` now, with the reason they gave.
    public func event(
        _ caller: Caller, _ action: AuditAction, category: Contactpoint_V1_AuditCategory,
        reason: Contactpoint_V1_AccessReason? = nil,
        outcome: Contactpoint_V1_AuditOutcome = .permitted,
        _ configure: (inout Contactpoint_V1_AuditEvent) -> Void = { _ in }
    ) -> Contactpoint_V1_AuditEvent {
        var event = caller.auditEvent(
            action, category: category, outcome: outcome, at: clock.now, stepUpWindow: stepUpWindow)
        event.instance = instance
        if let reason {
            event.reasonCode = reason.code.code ?? ""
            event.reasonText = reason.text
        }
        configure(&event)
        return event
    }

    /// An event of `action` now by an actor that is not a practitioner's session (an agency
    /// gateway reading by its bus principal).
    public func event(
        _ actor: Contactpoint_V1_AuditActor, _ action: AuditAction, category: Contactpoint_V1_AuditCategory,
        _ configure: (inout Contactpoint_V1_AuditEvent) -> Void = { _ in }
    ) -> Contactpoint_V1_AuditEvent {
        var event = Contactpoint_V1_AuditEvent.with {
            $0.eventID = EventID.make()
            $0.occurredAtMs = clock.now.milliseconds
            $0.action = action.description
            $0.category = category
            $0.actor = actor
            $0.service = action.service
            $0.instance = instance
            $0.outcome = .permitted
        }
        configure(&event)
        return event
    }

    /// Whether the caller entered a TOTP code within the step-up window.
    public func hasSteppedUp(_ caller: Caller) -> Bool {
        caller.hasSteppedUp(within: stepUpWindow, at: clock.now)
    }
}

/// A store with an audit outbox that access events are appended to.
public protocol AuditEventStore: Sendable {
    /// Appends events in one transaction, returning once they are durable. Blocks its thread:
    /// the committer's.
    func appendAuditEvents(_ events: [Contactpoint_V1_AuditEvent]) throws
}

extension AuditEventStore {
    /// The group commit of access events into the outbox: run it as a companion service.
    public func accessEventCommitter(name: String, maximumBatch: Int = 2048) -> GroupCommitter<
        Contactpoint_V1_AuditEvent, Void
    > {
        GroupCommitter(name: name, maximumBatch: maximumBatch) { events in
            try appendAuditEvents(events)
            return events.map { _ in () }
        }
    }
}

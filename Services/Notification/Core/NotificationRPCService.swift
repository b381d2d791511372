import Authentication
public import ConsentClient
public import ContactPointAPI
import Foundation
public import GRPCCore
import Identifiers
import RecordFields
public import ServiceRuntime
public import Timekeeping
import Vocabulary

/// The notification service's RPCs. Change events come from the principals in `feeders`; alerts
/// are read and moved on by a practitioner (their session) or an agency gateway (its bus
/// principal, mapped to its organisation in `gateways`), each through its ``AlertAudience`` only.
/// Every read is an audit event written before the alerts are sent.
public struct NotificationRPCService: Contactpoint_V1_Notification.SimpleServiceProtocol {
    let store: NotificationStore
    let access: AccessAudit
    let planner: AlertPlanner
    let hub: AlertHub
    let feeders: Set<String>
    /// The bus principals that deliver security notices: the identity service's.
    let noticeFeeders: Set<String>
    /// Agency gateways set up by hand: bus principal → organisation id.
    let gateways: [String: String]
    /// Agency gateways registered in the identity service, as last read from it.
    let registeredGateways: GatewayRoster
    /// The sessions ended since a follower's call was verified (logout, suspension, a gateway
    /// revoked): its stream ends at its next wake.
    let sessions: SessionVerifier?
    /// How long one Subscribe call streams before it ends (the client resumes from its cursor).
    let subscriptionLifetime: Duration
    let clock: WallClock

    /// - Parameter reads: from ``AuditEventStore/accessEventCommitter(name:maximumBatch:)``, run as
    ///   a companion service: every follower woken by one alert reads at once, and their events
    ///   share a transaction.
    public init(
        store: NotificationStore, reads: GroupCommitter<Contactpoint_V1_AuditEvent, Void>,
        consent: any ConsentDecisions, hub: AlertHub,
        feeders: Set<String>, noticeFeeders: Set<String> = ["identity"], gateways: [String: String],
        registeredGateways: GatewayRoster = GatewayRoster(), sessions: SessionVerifier? = nil,
        subscriptionLifetime: Duration = .seconds(300), clock: WallClock
    ) {
        self.registeredGateways = registeredGateways
        self.sessions = sessions
        self.store = store
        self.access = AccessAudit(roles: Self.roles, committer: reads, clock: clock)
        self.planner = AlertPlanner(consent: consent)
        self.hub = hub
        self.feeders = feeders
        self.noticeFeeders = noticeFeeders
        self.gateways = gateways
        self.subscriptionLifetime = subscriptionLifetime
        self.clock = clock
    }

    public static let publicMethods: Set<String> = [
        Contactpoint_V1_Notification.Method.DeliverChanges.descriptor.fullyQualifiedMethod,
        Contactpoint_V1_Notification.Method.DeliverNotices.descriptor.fullyQualifiedMethod,
    ]
    public static let sessionOptionalMethods: Set<String> = [
        Contactpoint_V1_Notification.Method.ListAlerts.descriptor.fullyQualifiedMethod,
        Contactpoint_V1_Notification.Method.UpdateAlert.descriptor.fullyQualifiedMethod,
        Contactpoint_V1_Notification.Method.Subscribe.descriptor.fullyQualifiedMethod,
    ]
    static let pageSize = 100
    /// Who reads and moves on alerts with a session (a gateway reads by its principal instead).
    static let roles: [AuditAction: Set<Role>] = [
        .listAlerts: [.practitioner, .namedPerson], .followAlerts: [.practitioner, .namedPerson],
        .updateAlert: [.practitioner, .namedPerson],
    ]

    // MARK: Change events

    public func deliverChanges(
        request: Contactpoint_V1_DeliverChangesRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_DeliverChangesResponse {
        try requireSender(in: feeders, setting: "feeder", delivering: "changes", context)
        for (index, event) in request.events.enumerated() {
            _ = try FieldValidation.identifier(event.eventID, "events[\(index)].event_id", "an event id")
            guard ContactPointID(event.childID) != nil else {
                throw RPCError(code: .invalidArgument, message: "events[\(index)].child_id: a ContactPoint ID")
            }
        }
        let plans: [String: [Contactpoint_V1_Alert]]
        do {
            plans = try await planner.plan(request.events)
        } catch {
            throw RPCError(
                code: .unavailable,
                message: "the consent service cannot be asked about sensitive involvements: deliver again later")
        }
        let (stored, duplicates) = try await store.take(request.events, now: clock.now.milliseconds, alerts: plans)
        hub.publish(stored)
        return .with {
            $0.alerts = UInt32(stored.count)
            $0.duplicates = UInt32(duplicates)
        }
    }

    // MARK: Alerts

    public func listAlerts(request: Contactpoint_V1_ListAlertsRequest, context: ServerContext) async throws
        -> Contactpoint_V1_ListAlertsResponse
    {
        let reader = try await reader(.listAlerts, organisationInbox: request.organisation, context)
        guard request.pageSize <= 500 else { throw RPCError(code: .invalidArgument, message: "page_size: at most 500") }
        let limit = request.pageSize == 0 ? Self.pageSize : Int(request.pageSize)
        let after = try sequence(after: request.after, store.alertIDs)
        let alerts = try await store.alerts(for: reader.audience, after: after, limit: limit + 1).alerts
        let page = Array(alerts.prefix(limit))
        try await recordRead(page, by: reader, .listAlerts)
        return .with {
            $0.alerts = page.map(published)
            $0.more = alerts.count > limit
        }
    }

    public func updateAlert(request: Contactpoint_V1_UpdateAlertRequest, context: ServerContext) async throws
        -> Contactpoint_V1_Alert
    {
        let reader = try await reader(.updateAlert, organisationInbox: false, context)
        guard let id = store.alertIDs.row(ofID: request.alertID) else {
            throw RPCError(code: .invalidArgument, message: "alert_id: an alert's id, as the alert gave it")
        }
        guard [.read, .acknowledged, .contactMade].contains(request.state) else {
            throw RPCError(code: .invalidArgument, message: "state: read, acknowledged or contact-made")
        }
        // A practitioner acts on their own alerts and on their organisation's inbox.
        var audiences = [reader.audience]
        if case .practitioner = reader.audience { audiences.append(.organisationInbox(reader.actor.organisationID)) }
        do {
            return published(
                try await store.update(
                    alert: id, to: request.state, for: audiences, by: reader.actor.practitionerID,
                    named: reader.caller?.claims.name, now: clock.now.milliseconds,
                    audit: event(reader, .updateAlert, category: .change) { $0.outcomeReason = request.state.code! }))
        } catch NotificationStore.UpdateError.noSuchAlert(let published) {
            // Someone else's alert (or none): a refusal, audited like any other, answered as if
            // there were no such alert.
            try await access.record(
                event(reader, .updateAlert, category: .change) {
                    $0.outcome = .denied
                    $0.outcomeReason = "not-yours"
                    $0.subjectID = published
                })
            throw NotificationStore.UpdateError.noSuchAlert(published)
        }
    }

    public func subscribe(
        request: Contactpoint_V1_SubscribeRequest, response: RPCWriter<Contactpoint_V1_Alert>, context: ServerContext
    ) async throws {
        let reader = try await reader(.followAlerts, organisationInbox: request.organisation, context)
        guard let (subscription, subscriber) = hub.register(reader.audience) else {
            throw RPCError(
                code: .resourceExhausted,
                message:
                    """
                    this notification instance follows \(hub.capacity) subscribers already: list alerts instead, \
                    or try again later
                    """
            )
        }
        defer { hub.unregister(subscription) }
        let end = ContinuousClock.now + subscriptionLifetime
        // The lifetime ends the stream even when no alert comes.
        let lifetime = Task {
            try? await Task.sleep(until: end)
            subscriber.wakeup.signal()
        }
        defer { lifetime.cancel() }
        var cursor = try sequence(after: request.after, store.alertIDs)
        /// Every alert up to this sequence has been sent, or is not this subscriber's.
        var considered: UInt64 = 0
        func send(_ alerts: [Contactpoint_V1_Alert]) async throws {
            guard let last = alerts.last else { return }
            try await recordRead(alerts, by: reader, .followAlerts)
            for alert in alerts { try await response.write(published(alert)) }
            cursor = last.sequence
        }
        func readDatabase() async throws {
            while true {
                let page = try await store.alerts(for: reader.audience, after: cursor, limit: Self.pageSize)
                try await send(page.alerts)
                guard page.alerts.count == Self.pageSize else {
                    considered = max(considered, page.newest)
                    return
                }
            }
        }
        try await readDatabase()
        while !Task.isCancelled, ContinuousClock.now < end {
            // Woken by alerts stored here, the hub's tick (alerts stored elsewhere), the lifetime's end or
            // cancellation.
            await subscriber.wakeup.wait()
            try requireStillEntitled(reader, context)
            let (batches, overflowed) = subscriber.takeBatches()
            var mine: [Contactpoint_V1_Alert] = []
            var needsDatabase = batches.isEmpty || overflowed
            for batch in batches where batch.through > considered {
                // A gap (another instance stored alerts in between, or this one is behind): read the database.
                guard batch.after <= considered else {
                    needsDatabase = true
                    break
                }
                mine += batch.alerts.filter { $0.sequence > cursor && reader.audience.contains($0) }
                considered = batch.through
            }
            try await send(mine)
            if needsDatabase { try await readDatabase() }
        }
    }

    // MARK: Sequences and ids as callers see them

    /// An alert as it is given out: its sequence (the cursor), its id and the id of the alert it
    /// escalates in their opaque forms (``NotificationStore/alertIDs``).
    func published(_ alert: Contactpoint_V1_Alert) -> Contactpoint_V1_Alert {
        var alert = alert
        let sequence = Int64(alert.sequence)
        alert.sequence = store.alertIDs.number(ofRow: sequence)
        alert.alertID = store.alertIDs.id(ofRow: sequence)
        if let from = Int64(alert.escalatedFrom) { alert.escalatedFrom = store.alertIDs.id(ofRow: from) }
        return alert
    }

    /// The sequence a caller's cursor stands for: 0 (from the start), or one this service gave.
    func sequence(after cursor: UInt64, _ ids: OpaqueRowIDs, field: String = "after") throws -> UInt64 {
        guard cursor != 0 else { return 0 }
        guard let row = ids.row(ofNumber: cursor) else {
            throw RPCError(code: .invalidArgument, message: "\(field): a sequence as this service gave it, or 0")
        }
        return UInt64(row)
    }

    // MARK: Callers and audit

    /// Refuses a delivery from a bus principal not in `allowed` (the transport gives the principal
    /// the broker authenticated as the remote peer).
    func requireSender(in allowed: Set<String>, setting: String, delivering what: String, _ context: ServerContext)
        throws
    {
        guard allowed.contains(context.remotePeer) else {
            throw RPCError(
                code: .permissionDenied,
                message: "only the services listed in the notification service's \(setting) setting deliver \(what)")
        }
    }

    /// Who reads, and so which alerts: a practitioner by their session, or a gateway by its principal.
    struct Reader {
        var audience: AlertAudience
        var actor: Contactpoint_V1_AuditActor
        var caller: Caller?
    }

    private func reader(_ action: AuditAction, organisationInbox: Bool, _ context: ServerContext) async throws -> Reader
    {
        if let caller = Caller.current {
            try await access.authorize(caller, action)
            let audience: AlertAudience =
                organisationInbox ? .organisationInbox(caller.organisationID) : .practitioner(caller.practitionerID)
            return Reader(audience: audience, actor: caller.auditActor, caller: caller)
        }
        // A gateway registered in the identity service (its principal, which only the brokers give)
        // is served if it was registered to read alerts; one in the `gateway` setting is mapped there.
        let peer = context.remotePeer
        let organisation: String
        let actorID: String
        if GatewayPrincipal(peer) != nil {
            guard let registered = registeredGateways.gateway(principal: peer), registered.readsAlerts else {
                throw RPCError(
                    code: .permissionDenied,
                    message: "this system is not registered to read its organisation's alerts (docs/GATEWAYS.md)")
            }
            (organisation, actorID) = (registered.organisationID, peer)
        } else if let mapped = gateways[peer] {
            (organisation, actorID) = (mapped, "gateway:\(peer)")
        } else {
            throw RPCError(
                code: .unauthenticated,
                message: "this call needs a session (log in first) or an agency gateway's bus key")
        }
        return Reader(
            audience: .gateway(organisation),
            actor: .with {
                $0.practitionerID = actorID
                $0.organisationID = organisation
                $0.route = peer
            }, caller: nil)
    }

    /// Looks again, at each wake of a follower, at what let it in: its session must not have ended,
    /// and a gateway must still be in force (and, without a session, registered to read alerts).
    /// So an open stream stops within this instance's next look at identity (2 s) and the hub's
    /// next tick (1 s), as a new call would be refused.
    private func requireStillEntitled(_ reader: Reader, _ context: ServerContext) throws {
        if let caller = reader.caller, sessions?.isRevoked(sessionID: caller.claims.sid) == true {
            throw RPCError(code: .unauthenticated, message: "the session has ended: log in again")
        }
        if GatewayPrincipal(context.remotePeer) != nil {
            guard let gateway = registeredGateways.gateway(principal: context.remotePeer),
                reader.caller != nil || gateway.readsAlerts
            else {
                throw RPCError(
                    code: .unauthenticated, message: "\(context.remotePeer) is no longer admitted to the bus")
            }
        }
    }

    /// Audits a read of alerts before they are sent; if it cannot be recorded, nothing is sent.
    private func recordRead(_ alerts: [Contactpoint_V1_Alert], by reader: Reader, _ action: AuditAction) async throws {
        try await access.record(
            event(reader, action, category: .disclosure) {
                $0.childIds = Array(Set(alerts.map(\.childID))).sorted()
                $0.disclosedFields = alerts.isEmpty ? [] : ["alerts"]
            })
    }

    private func event(
        _ reader: Reader, _ action: AuditAction, category: Contactpoint_V1_AuditCategory,
        _ configure: (inout Contactpoint_V1_AuditEvent) -> Void
    ) -> Contactpoint_V1_AuditEvent {
        if let caller = reader.caller { return access.event(caller, action, category: category, configure) }
        return access.event(reader.actor, action, category: category, configure)
    }
}

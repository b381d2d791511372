import Authentication
import ContactPointAPI
import Foundation
import GRPCCore
import Identifiers
import MerkleTree
import SecurityPrimitives
import ServiceRuntime
import Vocabulary

/// The audit service's RPCs. Append is for the services listed as senders (authorized on the
/// bus principal the broker authenticated); everything else needs a session, and review needs
/// the auditor role (or local-authority administrator, for their own authority).
struct AuditRPCService: Contactpoint_V1_Audit.SimpleServiceProtocol {
    let log: AuditLog
    /// The bus principals that may append (the services' own keys).
    let senders: Set<String>
    /// This instance's name, recorded as the origin of its own review events.
    let instance: String
    /// Suspends a practitioner's account in the identity service, on the current caller's behalf.
    let suspendAccount: @Sendable (_ practitionerID: String) async throws -> Void
    /// Review actions, logged straight into the log (its group commit) before their results are given.
    let access: AccessAudit
    /// The key tree heads are signed with, served with each head as a C2SP verifier key.
    let signingKey: Ed25519.PublicKey

    /// Whether the child's record is shielded now (the index's ChildStanding; `false` for a child
    /// not on the index). Throws when that cannot be told: no report is then given.
    let childShielded: @Sendable (_ childID: String) async throws -> Bool

    init(
        log: AuditLog, senders: Set<String>, instance: String, signingKey: Ed25519.PublicKey,
        suspendAccount: @escaping @Sendable (_ practitionerID: String) async throws -> Void,
        childShielded: @escaping @Sendable (_ childID: String) async throws -> Bool
    ) {
        self.childShielded = childShielded
        self.log = log
        self.signingKey = signingKey
        self.senders = senders
        self.instance = instance
        self.suspendAccount = suspendAccount
        self.access = AccessAudit(roles: Self.roles, instance: instance, clock: log.clock) { event in
            _ = try await log.append([event], sender: instance)
        }
    }

    /// Review needs the auditor role, or local-authority administrator for their own authority's events
    /// (``reviewer(_:)``).
    static let roles: [AuditAction: Set<Role>] = {
        let reviewers: Set<Role> = [.auditor, .localAuthorityAdministrator]
        return [
            .queryEvents: reviewers, .listReviewItems: reviewers, .openReviewItem: reviewers,
            .recordReviewOutcome: reviewers,
            .subjectAccess: reviewers,
        ]
    }()

    static let publicMethods: Set<String> = [Contactpoint_V1_Audit.Method.Append.descriptor.fullyQualifiedMethod]

    private var store: AuditStore { log.store }

    // MARK: Appending

    func append(request: Contactpoint_V1_AppendRequest, context: ServerContext) async throws
        -> Contactpoint_V1_AppendResponse
    {
        // The bus transport gives the principal the broker authenticated and stamped as the remote peer.
        let sender = context.remotePeer
        guard senders.contains(sender) else {
            throw RPCError(code: .permissionDenied, message: "only ContactPoint services may append to the audit log")
        }
        try AuditEventValidation.validate(request.events, nowMS: log.clock.now.milliseconds)
        let receipts = try await appendOrUnavailable(request.events, sender: sender)
        return .with {
            $0.receipts = receipts.map { receipt in
                .with {
                    $0.eventID = receipt.eventID
                    $0.leafIndex = receipt.leafIndex
                    $0.duplicate = receipt.duplicate
                }
            }
        }
    }

    // MARK: Tree heads and proofs

    func treeHead(request: Contactpoint_V1_TreeHeadRequest, context: ServerContext) async throws
        -> Contactpoint_V1_SignedTreeHead
    {
        _ = try Caller.required()
        guard let head = try await store.latestTreeHead() else {
            throw RPCError(code: .notFound, message: "no tree head has been signed yet")
        }
        return Self.message(head, signedBy: signingKey)
    }

    func inclusionProof(
        request: Contactpoint_V1_InclusionProofRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_InclusionProofResponse {
        _ = try Caller.required()
        let head = try await signedHead(size: request.treeSize)
        let proof = try await store.inclusionProof(eventID: request.eventID, size: head.size)
        return .with {
            $0.leafIndex = proof.leaf
            $0.treeSize = head.size
            $0.leafHash = Data(proof.leafHash)
            $0.path = proof.path.map { Data($0) }
        }
    }

    func consistencyProof(
        request: Contactpoint_V1_ConsistencyProofRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_ConsistencyProofResponse {
        _ = try Caller.required()
        guard request.firstSize <= request.secondSize else {
            throw RPCError(code: .invalidArgument, message: "first_size: must not exceed second_size")
        }
        _ = try await signedHead(size: request.secondSize)
        let path = try await store.consistencyProof(first: request.firstSize, second: request.secondSize)
        return .with { $0.path = path.map { Data($0) } }
    }

    /// The signed head of that size (0: the newest); proofs are only given against signed heads.
    private func signedHead(size: UInt64) async throws -> AuditStore.TreeHead {
        let head = size == 0 ? try await store.latestTreeHead() : try await store.treeHead(size: size)
        guard let head else {
            throw RPCError(
                code: .notFound,
                message: size == 0
                    ? "no tree head has been signed yet" : "tree_size: no head of size \(size) was signed")
        }
        return head
    }

    // MARK: Review

    func queryEvents(request: Contactpoint_V1_QueryEventsRequest, context: ServerContext) async throws
        -> Contactpoint_V1_QueryEventsResponse
    {
        let (caller, scope) = try await reviewer(.queryEvents)
        if !request.childID.isEmpty, ContactPointID(request.childID) == nil {
            throw RPCError(
                code: .invalidArgument,
                message: "child_id: expected a ContactPoint ID (10 digits with a valid check digit)")
        }
        guard request.pageSize <= 500 else { throw RPCError(code: .invalidArgument, message: "page_size: at most 500") }
        var filter = AuditStore.EventFilter()
        filter.childID = request.childID.nonEmpty
        filter.practitionerID = request.practitionerID.nonEmpty
        filter.organisationID = request.organisationID.nonEmpty
        filter.fromMS = request.fromMs == 0 ? nil : request.fromMs
        filter.toMS = request.toMs == 0 ? nil : request.toMs
        filter.flag = request.flag
        filter.scope = scope
        filter.limit = request.pageSize == 0 ? 100 : Int(request.pageSize)
        if !request.pageToken.isEmpty {
            guard let leaf = UInt64(request.pageToken) else {
                throw RPCError(code: .invalidArgument, message: "page_token: not one this service gave")
            }
            filter.beforeLeaf = leaf
        }
        let events = try await store.events(matching: filter)
        try await logReview(
            caller, .queryEvents, childIDs: request.childID.nonEmpty.map { [$0] } ?? [], subject: request.practitionerID
        )
        return .with {
            $0.events = events
            if events.count == filter.limit, let last = events.last { $0.nextPageToken = String(last.leafIndex) }
        }
    }

    func listReviewItems(
        request: Contactpoint_V1_ListReviewItemsRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_ListReviewItemsResponse {
        let (caller, scope) = try await reviewer(.listReviewItems)
        guard request.pageSize <= 500 else { throw RPCError(code: .invalidArgument, message: "page_size: at most 500") }
        let limit = request.pageSize == 0 ? 100 : Int(request.pageSize)
        var before: Int64?
        if !request.pageToken.isEmpty {
            guard let row = Int64(request.pageToken) else {
                throw RPCError(code: .invalidArgument, message: "page_token: not one this service gave")
            }
            before = row
        }
        try await logReview(caller, .listReviewItems)
        let items = try await store.reviewItems(
            status: request.status, highPriorityOnly: request.highPriorityOnly, scope: scope, beforeRow: before,
            limit: limit)
        return .with {
            $0.items = items.map(\.item)
            if items.count == limit, let last = items.last { $0.nextPageToken = String(last.row) }
        }
    }

    func openReviewItem(request: Contactpoint_V1_OpenReviewItemRequest, context: ServerContext) async throws
        -> Contactpoint_V1_ReviewItemDetail
    {
        let (caller, scope) = try await reviewer(.openReviewItem)
        try await logReview(caller, .openReviewItem, subject: request.itemID)
        return try await store.openReviewItem(
            id: request.itemID, reviewer: caller.practitionerID, scope: scope, now: log.clock.now.milliseconds)
    }

    func recordReviewOutcome(
        request: Contactpoint_V1_RecordReviewOutcomeRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_ReviewItem {
        let (caller, scope) = try await reviewer(.recordReviewOutcome)
        switch request.outcome {
        case .noConcern, .adviceGiven, .referredForDisciplinaryAction, .accountSuspended: break
        default:
            throw RPCError(
                code: .invalidArgument,
                message: "outcome: no concern, advice given, referred for disciplinary action or account suspended")
        }
        let item = try await store.reviewItem(id: request.itemID, scope: scope)
        guard item.status != .closed else {
            throw RPCError(code: .failedPrecondition, message: "review item \(item.itemID) is already closed")
        }
        if request.outcome == .accountSuspended {
            guard item.practitionerID != caller.practitionerID else {
                throw RPCError(code: .permissionDenied, message: "a reviewer does not decide on their own account")
            }
            try await suspendAccount(item.practitionerID)
        }
        try await logReview(caller, .recordReviewOutcome, subject: item.itemID, reason: request.outcome)
        return try await store.closeReviewItem(
            id: item.itemID, outcome: request.outcome, reviewer: caller.practitionerID, scope: scope,
            now: log.clock.now.milliseconds)
    }

    func subjectAccess(request: Contactpoint_V1_SubjectAccessRequest, context: ServerContext) async throws
        -> Contactpoint_V1_SubjectAccessReport
    {
        let (caller, scope) = try await reviewer(.subjectAccess)
        guard ContactPointID(request.childID) != nil else {
            throw RPCError(
                code: .invalidArgument,
                message: "child_id: expected a ContactPoint ID (10 digits with a valid check digit)")
        }
        // Which organisations looked at a shielded child's record is where the child is: the
        // report, which goes to the child or their family, withholds them.
        let shielded: Bool
        do {
            shielded = try await childShielded(request.childID)
        } catch {
            throw RPCError(
                code: .unavailable,
                message: "whether the record is shielded cannot be told now, so no report is given: try again")
        }
        try await logReview(caller, .subjectAccess, childIDs: [request.childID])
        let events = try await store.disclosures(ofChild: request.childID)
            .filter { scope == nil || $0.access.childLocalAuthority == scope || $0.actor.localAuthority == scope }
        return .with {
            $0.childID = request.childID
            $0.generatedAtMs = log.clock.now.milliseconds
            $0.organisationsWithheld = shielded
            $0.entries = events.map { event in
                .with {
                    $0.occurredAtMs = event.occurredAtMs
                    if !shielded {
                        $0.organisationID = event.actor.organisationID
                        $0.localAuthority = event.actor.localAuthority
                    }
                    $0.roles = event.actor.roles
                    $0.action = event.action
                    $0.reasonCode = event.reasonCode
                    $0.reasonText = event.reasonText
                    $0.outcome = event.outcome
                    $0.override = event.override
                    if event.override != .none { $0.overrideJustification = event.outcomeReason }
                }
            }
        }
    }

    // MARK: Helpers

    /// The caller and the local authority they may review (`nil`: all, for an auditor); a
    /// refusal is audited.
    private func reviewer(_ action: AuditAction) async throws -> (Caller, String?) {
        let caller = try Caller.required()
        try await access.authorize(caller, action)
        return (caller, caller.hasRole(.auditor) ? nil : caller.localAuthority)
    }

    /// Logs a review action before its result is given (after reading it, so that a query does
    /// not find itself): if it cannot be logged, nothing is shown.
    private func logReview(
        _ caller: Caller, _ action: AuditAction, childIDs: [String] = [], subject: String = "",
        reason: Contactpoint_V1_ReviewOutcome = .unspecified
    ) async throws {
        try await access.record(
            access.event(caller, action, category: .review) {
                $0.childIds = childIDs
                $0.subjectID = subject
                if let code = Self.outcomeCodes[reason] { $0.outcomeReason = code }
            })
    }

    private func appendOrUnavailable(_ events: [Contactpoint_V1_AuditEvent], sender: String) async throws -> [AuditStore
        .Receipt]
    {
        do {
            return try await log.append(events, sender: sender)
        } catch {
            throw RPCError(code: .unavailable, message: "the audit log cannot take events now; retry", cause: error)
        }
    }

    static let outcomeCodes: [Contactpoint_V1_ReviewOutcome: String] = [
        .noConcern: "no-concern", .adviceGiven: "advice-given",
        .referredForDisciplinaryAction: "referred-for-disciplinary-action",
        .accountSuspended: "account-suspended",
    ]

    static func message(_ head: AuditStore.TreeHead, signedBy key: Ed25519.PublicKey) -> Contactpoint_V1_SignedTreeHead
    {
        let checkpoint = Checkpoint(head, signedBy: key)
        return .with {
            $0.size = head.size
            $0.rootHash = Data(head.rootHash)
            $0.timestampMs = head.timestampMS
            $0.keyID = checkpoint.keyID
            $0.signature = Data(head.signature)
            $0.checkpoint = checkpoint.body
            $0.note = checkpoint.note
            $0.verifierKey = Checkpoint.verifierKey(of: key)
        }
    }
}

extension String {
    fileprivate var nonEmpty: String? { isEmpty ? nil : self }
}

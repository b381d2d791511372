import Authentication
public import ContactPointAPI
public import GRPCCore
import RecordFields

/// Security notices: delivered by the identity service (principals in `noticeFeeders`), read and
/// marked read by their practitioner's own session only. They name no child, so reading them is
/// not a disclosure; the identity events behind them are in the audit trail already.
extension NotificationRPCService {
    public func deliverNotices(
        request: Contactpoint_V1_DeliverNoticesRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_DeliverNoticesResponse {
        try requireSender(in: noticeFeeders, setting: "notice-feeder", delivering: "notices", context)
        for (index, notice) in request.notices.enumerated() {
            _ = try FieldValidation.identifier(notice.eventID, "notices[\(index)].event_id", "an event id")
            _ = try FieldValidation.identifier(
                notice.practitionerID, "notices[\(index)].practitioner_id", "a practitioner id")
            if !notice.actorID.isEmpty {
                _ = try FieldValidation.identifier(notice.actorID, "notices[\(index)].actor_id", "a practitioner id")
            }
            if !notice.aboutPractitionerID.isEmpty {
                _ = try FieldValidation.identifier(
                    notice.aboutPractitionerID, "notices[\(index)].about_practitioner_id", "a practitioner id")
            }
            guard Contactpoint_V1_SecurityNoticeKind.allCases.contains(notice.kind), notice.kind != .unspecified else {
                throw RPCError(code: .invalidArgument, message: "notices[\(index)].kind: a security notice kind")
            }
            guard notice.occurredAtMs > 0 else {
                throw RPCError(code: .invalidArgument, message: "notices[\(index)].occurred_at_ms: a time")
            }
        }
        let (stored, duplicates) = try await store.store(notices: request.notices, now: clock.now.milliseconds)
        return .with {
            $0.stored = UInt32(stored)
            $0.duplicates = UInt32(duplicates)
        }
    }

    public func listNotices(request: Contactpoint_V1_ListNoticesRequest, context: ServerContext) async throws
        -> Contactpoint_V1_ListNoticesResponse
    {
        let practitioner = try noticeReader()
        guard request.pageSize <= 500 else { throw RPCError(code: .invalidArgument, message: "page_size: at most 500") }
        let limit = request.pageSize == 0 ? Self.pageSize : Int(request.pageSize)
        let notices = try await store.notices(
            of: practitioner, after: try sequence(after: request.after, store.noticeIDs),
            unreadOnly: request.unreadOnly,
            limit: limit + 1)
        return .with {
            $0.notices = notices.prefix(limit).map { notice in
                var notice = notice
                notice.sequence = store.noticeIDs.number(ofRow: Int64(notice.sequence))
                return notice
            }
            $0.more = notices.count > limit
        }
    }

    public func markNoticesRead(
        request: Contactpoint_V1_MarkNoticesReadRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_MarkNoticesReadResponse {
        let practitioner = try noticeReader()
        let marked = try await store.markNoticesRead(
            of: practitioner, through: try sequence(after: request.through, store.noticeIDs, field: "through"),
            now: clock.now.milliseconds)
        return .with { $0.marked = UInt32(marked) }
    }

    /// Whose notices: the session's practitioner, whatever their role (every account can be attacked).
    private func noticeReader() throws -> String {
        guard let caller = Caller.current else {
            throw RPCError(code: .unauthenticated, message: "security notices need a session: log in first")
        }
        return caller.practitionerID
    }
}

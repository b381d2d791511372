import ContactPointAPI
import GRPCCore
import Testing

@testable import Notification

@Suite("Security notices", .timeLimit(.minutes(1)))
struct NoticeTests {
    static func notice(_ id: String, _ kind: Contactpoint_V1_SecurityNoticeKind, to practitioner: String = "p-1")
        -> Contactpoint_V1_SecurityNotice
    {
        .with {
            $0.eventID = id
            $0.practitionerID = practitioner
            $0.kind = kind
            $0.occurredAtMs = 1_780_000_000_000
        }
    }

    @Test("delivered notices are stored once, each in its practitioner's own inbox; marking read keeps them for --all")
    func inbox() async throws {
        let fixture = try NotificationFixture()
        try await fixture.run { notification in
            let delivered = try await notification.deliverNotices(
                .with {
                    $0.notices = [
                        Self.notice("e1", .passwordRightCodeWrong), Self.notice("e2", .passwordChanged),
                        Self.notice("e3", .accountLocked, to: "p-2"),
                    ]
                })
            #expect(delivered.stored == 3)
            let again = try await notification.deliverNotices(
                .with { $0.notices = [Self.notice("e2", .passwordChanged)] })
            #expect(again.stored == 0 && again.duplicates == 1, "a redelivery stores nothing twice")

            let mine = try fixture.session("p-1", org: "org-1")
            let listed = try await notification.listNotices(.with { $0.unreadOnly = true }, metadata: mine)
            #expect(listed.notices.map(\.kind) == [.passwordRightCodeWrong, .passwordChanged])
            #expect(listed.notices.allSatisfy { $0.practitionerID == "p-1" && $0.readAtMs == 0 })

            // Every role has notices: an auditor's account can be attacked too. Another's are never shown.
            let theirs = try fixture.session("p-2", org: "org-9", roles: ["auditor"])
            #expect(try await notification.listNotices(.init(), metadata: theirs).notices.map(\.eventID) == ["e3"])

            let marked = try await notification.markNoticesRead(
                .with { $0.through = listed.notices[0].sequence }, metadata: mine)
            #expect(marked.marked == 1)
            #expect(
                try await notification.listNotices(.with { $0.unreadOnly = true }, metadata: mine).notices.map(
                    \.eventID) == ["e2"])
            let all = try await notification.listNotices(.init(), metadata: mine).notices
            #expect(all.map(\.eventID) == ["e1", "e2"])
            #expect(all[0].readAtMs == fixture.now.value)
            #expect(
                try await notification.listNotices(.with { $0.after = all[0].sequence }, metadata: mine).notices.map(
                    \.eventID) == ["e2"])
            let firstPage = try await notification.listNotices(.with { $0.pageSize = 1 }, metadata: mine)
            #expect(firstPage.notices.map(\.eventID) == ["e1"] && firstPage.more, "a page says when more follow")
            await #expect { try await notification.listNotices(.with { $0.pageSize = 501 }, metadata: mine) } throws: {
                ($0 as? RPCError)?.code == .invalidArgument
            }
            #expect(
                try await notification.listNotices(.init(), metadata: theirs).notices[0].readAtMs == 0,
                "marking is per practitioner")
        }
    }

    @Test("only the notice feeders deliver, only a session reads, and a bad notice stores nothing of its call")
    func refusals() async throws {
        let fixture = try NotificationFixture()
        try await fixture.run(noticeFeeders: ["identity"]) { notification in
            await #expect {
                try await notification.deliverNotices(.with { $0.notices = [Self.notice("e1", .accountLocked)] })
            } throws: {
                ($0 as? RPCError)?.code == .permissionDenied
            }
        }
        try await fixture.run { notification in
            for (bad, field) in [
                (Self.notice("e 1", .accountLocked), "notices[1].event_id"),
                (Self.notice("e1", .unspecified), "notices[1].kind"),
                (Self.notice("e1", .init(rawValue: 99)!), "notices[1].kind"),
                (Self.notice("e1", .accountLocked, to: ""), "notices[1].practitioner_id"),
            ] {
                await #expect {
                    try await notification.deliverNotices(
                        .with { $0.notices = [Self.notice("ok", .accountLocked), bad] })
                } throws: {
                    ($0 as? RPCError)?.code == .invalidArgument && ($0 as? RPCError)?.message.hasPrefix(field) == true
                }
            }
            await #expect { try await notification.listNotices(.init()) } throws: {
                ($0 as? RPCError)?.code == .unauthenticated
            }
            await #expect { try await notification.markNoticesRead(.with { $0.through = 1 }) } throws: {
                ($0 as? RPCError)?.code == .unauthenticated
            }
            let mine = try fixture.session("p-1", org: "org-1")
            #expect(try await notification.listNotices(.init(), metadata: mine).notices.isEmpty)
        }
    }
}

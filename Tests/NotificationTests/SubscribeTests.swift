import ContactPointAPI
import GRPCCore
import ServiceRuntime
import Synchronization
import Testing

@testable import Notification

@Suite("Live alerts")
struct SubscribeTests {
    typealias F = NotificationFixture

    @Test(
        """
        a subscriber gets its backlog, then each new alert as it is stored; reconnecting from its cursor it \
        misses nothing and sees nothing twice
        """
    )
    func resumeFromCursor() async throws {
        let fixture = try NotificationFixture()
        try await fixture.run { notification in
            let gp = try fixture.session("p-gp", org: "org-gp")
            @Sendable func deliver() async throws {
                _ = try await notification.deliverChanges(
                    .with { $0.events = [F.event(from: F.school, others: [(F.gp, "p-gp"), (F.socialCare, "p-sw")])] })
            }
            try await deliver()
            /// Follows from `after` until `count` alerts came; `whileFollowing` runs once the backlog is in.
            func follow(after: UInt64, count: Int, whileFollowing: @escaping @Sendable () async throws -> Void)
                async throws -> [Contactpoint_V1_Alert]
            {
                try await notification.subscribe(.with { $0.after = after }, metadata: gp) { response in
                    var alerts: [Contactpoint_V1_Alert] = []
                    var started = false
                    for try await alert in response.messages {
                        alerts.append(alert)
                        if !started {
                            started = true
                            try await whileFollowing()
                        }
                        if alerts.count == count { break }
                    }
                    return alerts
                }
            }
            // The backlog (1), then two delivered while following.
            let first = try await follow(after: 0, count: 3) {
                try await deliver()
                try await deliver()
            }
            // In the order stored; the cursor and the id are opaque (they do not count alerts)
            let stored = { (alerts: [Contactpoint_V1_Alert]) in
                alerts.map { fixture.store.alertIDs.row(ofNumber: $0.sequence)! }
            }
            #expect(stored(first) == stored(first).sorted() && Set(first.map(\.alertID)).count == 3)
            #expect(first.allSatisfy { $0.alertID.hasPrefix("alert-") && $0.sequence >= 1 << 63 })
            #expect(first.allSatisfy { $0.recipientPractitionerID == "p-gp" })
            // Disconnected: two more are stored; resuming from the last seen gets exactly those, then a live one.
            try await deliver()
            try await deliver()
            let second = try await follow(after: first.last!.sequence, count: 3) { try await deliver() }
            #expect(second.count == 3 && stored(second).allSatisfy { $0 > stored(first).last! })
            let all = try await notification.listAlerts(.init(), metadata: gp).alerts
            // What was pushed from the batch just stored is what the database holds.
            #expect(first + second == all)
            // Each batch sent was audited as a read.
            #expect(try await fixture.auditOutbox().filter { $0.action == "notification/follow-alerts" }.count >= 2)
        }
    }

    @Test(
        """
        alerts another instance stores reach a follower at the next tick, and alerts stored here after them are \
        not skipped
        """
    )
    func otherInstances() async throws {
        let fixture = try NotificationFixture(inFile: true)
        try await fixture.run { notification in
            _ = try await notification.deliverChanges(
                .with { $0.events = [F.event(from: F.school, others: [(F.gp, "p-gp")])] })
        }
        let other = try NotificationStore.open(path: "\(fixture.temporaryDirectory!.path)/notification.sqlite")
        try await fixture.run { notification in
            let gp = try fixture.session("p-gp", org: "org-gp")
            let elsewhere = F.event(from: F.school, others: [(F.gp, "p-gp")])
            let here = F.event(from: F.school, others: [(F.gp, "p-gp")])
            let alerts = try await notification.subscribe(.init(), metadata: gp) { response in
                var alerts: [Contactpoint_V1_Alert] = []
                for try await alert in response.messages {
                    alerts.append(alert)
                    if alerts.count == 1 {
                        // Another instance stores one (this instance's followers are not told of it), then this one
                        // stores one.
                        _ = try await other.take(
                            [elsewhere], now: 1,
                            alerts: [elsewhere.eventID: AlertPlanner.alerts(for: elsewhere, allowed: [])])
                        _ = try await notification.deliverChanges(.with { $0.events = [here] })
                    }
                    if alerts.count == 3 { break }
                }
                return alerts
            }
            #expect(alerts.map { fixture.store.alertIDs.row(ofNumber: $0.sequence) } == [1, 2, 3])
        }
    }

    @Test(
        """
        followers are bounded: each holds a worker session, so past the hub's capacity a subscription is refused \
        until one ends
        """
    )
    func boundedFollowers() {
        let hub = AlertHub(capacity: 2)
        let first = hub.register(.practitioner("p-1"))
        #expect(first != nil && hub.register(.practitioner("p-2")) != nil)
        #expect(hub.register(.practitioner("p-3")) == nil)
        hub.unregister(first!.id)
        #expect(hub.register(.practitioner("p-3")) != nil)
    }
}

@Suite("Alert cursors and ids")
struct OpaqueAlertIDTests {
    typealias F = NotificationFixture

    @Test("a cursor this service did not give is refused, not read as a position")
    func foreignCursor() async throws {
        let fixture = try NotificationFixture()
        try await fixture.run { notification in
            let gp = try fixture.session("p-gp", org: "org-gp")
            for cursor: UInt64 in [1, 2, 1 << 62] {
                let error = await #expect(throws: RPCError.self) {
                    try await notification.listAlerts(.with { $0.after = cursor }, metadata: gp)
                }
                #expect(error?.code == .invalidArgument, "\(cursor)")
            }
        }
    }

    @Test("a notification database of the previous version keeps the numbers its alerts and notices were given")
    func upgrade() async throws {
        let fixture = try NotificationFixture(inFile: true)
        try await fixture.run { notification in
            for _ in 0..<2 {
                _ = try await notification.deliverChanges(
                    .with { $0.events = [F.event(from: F.school, others: [(F.gp, "p-gp")])] })
            }
        }
        let path = "\(fixture.temporaryDirectory!.path)/notification.sqlite"
        try await fixture.store.writer.writeWithoutTransaction { db in
            try db.execute(sql: "DROP TABLE opaque_id_key")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = '4: opaque alert and notice sequences'")
        }
        let upgraded = try NotificationStore.open(path: path)
        #expect(upgraded.alertIDs.plainUpTo == 2 && upgraded.noticeIDs.plainUpTo == 0)
        #expect(upgraded.alertIDs.id(ofRow: 2) == "2" && upgraded.alertIDs.number(ofRow: 2) == 2)
        #expect(upgraded.alertIDs.id(ofRow: 3).hasPrefix("alert-"))
    }
}

@Suite("Live alerts: a follower's right, looked at again", .timeLimit(.minutes(1)))
struct SubscribeRightTests {
    typealias F = NotificationFixture

    @Test("a session ended while its follower is open ends the stream, and what comes after is not sent to it")
    func sessionEndedEndsStream() async throws {
        let fixture = try NotificationFixture()
        try await fixture.run { notification in
            let gp = try fixture.session("p-gp", org: "org-gp")
            @Sendable func deliver() async throws {
                _ = try await notification.deliverChanges(
                    .with { $0.events = [F.event(from: F.school, others: [(F.gp, "p-gp")])] })
            }
            try await deliver()
            let received = Mutex(0)
            let ending = await #expect(throws: RPCError.self) {
                try await notification.subscribe(.init(), metadata: gp) { response in
                    for try await _ in response.messages {
                        // The backlog's alert: the practitioner logs out, then another alert is stored
                        guard
                            received.withLock({
                                $0 += 1
                                return $0
                            }) == 1
                        else { continue }
                        fixture.sessions.verifier.revoke(sessionIDs: ["s-p-gp"])
                        try await deliver()
                    }
                }
            }
            #expect(ending?.code == .unauthenticated, "\(String(describing: ending))")
            #expect(received.withLock { $0 } == 1)
        }
    }
}

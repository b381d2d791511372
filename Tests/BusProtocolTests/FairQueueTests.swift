import Testing

@testable import BusProtocol

/// How a service's waiting requests are shared between callers.
@Suite("Fair queue")
struct FairQueueTests {
    var queue = FairQueue<String>(capacity: 100, perPrincipal: 10, perSession: 3)

    mutating func drain() -> [String] {
        var order: [String] = []
        while let element = queue.popFirst() { order.append(element) }
        return order
    }

    @Test("principals take turns: one that queued first and most does not hold back another")
    mutating func principalsTakeTurns() throws {
        for index in 1...5 { try queue.append("flood-\(index)", principal: "gateway", session: nil) }
        try queue.append("portal-1", principal: "portal", session: nil)
        try queue.append("portal-2", principal: "portal", session: nil)
        #expect(queue.count == 7)
        #expect(
            drain() == ["flood-1", "portal-1", "flood-2", "portal-2", "flood-3", "flood-4", "flood-5"])
        #expect(queue.isEmpty)
    }

    @Test("within a principal, sessions take turns; requests without a session take one turn together")
    mutating func sessionsTakeTurns() throws {
        try queue.append("a-1", principal: "portal", session: "Bearer a")
        try queue.append("a-2", principal: "portal", session: "Bearer a")
        try queue.append("none-1", principal: "portal", session: nil)
        try queue.append("none-2", principal: "portal", session: nil)
        try queue.append("b-1", principal: "portal", session: "Bearer b")
        #expect(drain() == ["a-1", "none-1", "b-1", "a-2", "none-2"])
    }

    @Test("each share is bounded: the session's, then the principal's, then the whole queue's")
    mutating func bounds() throws {
        for index in 1...3 { try queue.append("a-\(index)", principal: "portal", session: "Bearer a") }
        #expect(throws: FairQueue<String>.Refusal.sessionFull) {
            try queue.append("a-4", principal: "portal", session: "Bearer a")
        }
        // Requests without a session are bounded by the principal's share alone
        for index in 1...7 { try queue.append("none-\(index)", principal: "portal", session: nil) }
        #expect(throws: FairQueue<String>.Refusal.principalFull) {
            try queue.append("none-8", principal: "portal", session: nil)
        }
        // Another principal still has its own share
        try queue.append("gateway-1", principal: "gateway", session: nil)

        var small = FairQueue<String>(capacity: 2, perPrincipal: 10, perSession: 3)
        try small.append("x", principal: "p", session: nil)
        try small.append("y", principal: "q", session: nil)
        #expect(throws: FairQueue<String>.Refusal.full) { try small.append("z", principal: "r", session: nil) }
        #expect(small.count == 2)
    }

    @Test("a refused element changes nothing, and a drained share is free again")
    mutating func refusalChangesNothing() throws {
        for index in 1...3 { try queue.append("a-\(index)", principal: "portal", session: "Bearer a") }
        #expect(throws: FairQueue<String>.Refusal.self) {
            try queue.append("a-4", principal: "portal", session: "Bearer a")
        }
        #expect(queue.count == 3)
        #expect(queue.popFirst() == "a-1")
        try queue.append("a-4", principal: "portal", session: "Bearer a")
        #expect(drain() == ["a-2", "a-3", "a-4"])
    }

    @Test("removing elements keeps the others in their turns")
    mutating func removeKeepsTurns() throws {
        for index in 1...3 { try queue.append("a-\(index)", principal: "gateway", session: nil) }
        for index in 1...2 { try queue.append("b-\(index)", principal: "portal", session: nil) }
        let removed = queue.removeAll { $0 == "a-2" || $0 == "b-1" || $0 == "b-2" }
        #expect(Set(removed) == ["a-2", "b-1", "b-2"])
        #expect(queue.count == 2)
        #expect(Set(queue.elements) == ["a-1", "a-3"])
        try queue.append("c-1", principal: "other", session: nil)
        #expect(drain() == ["a-1", "c-1", "a-3"])
    }
}

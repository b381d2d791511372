import DequeModule

/// A service's waiting requests, shared fairly: each principal (a bus key: an agency's gateway,
/// the portal, a service) gets at most `perPrincipal` places and the principals take turns, and
/// within a principal each session (a practitioner's token, when the principal carries many)
/// gets at most `perSession` places and the sessions take turns; requests without a session
/// (a service's own calls, sign-in) take one turn together, bounded by the principal's share
/// alone. A principal that floods the broker fills its own share and waits behind its own
/// requests; every other caller is served in turn.
struct FairQueue<Element> {
    /// Why an element was not queued.
    enum Refusal: Error {
        case full, principalFull, sessionFull
    }

    private struct Principal {
        var sessions: [String?: Deque<Element>] = [:]
        /// Sessions with waiting elements, in turn order.
        var turns: Deque<String?> = []
        var count = 0
    }

    let capacity: Int
    let perPrincipal: Int
    let perSession: Int
    private var principals: [String: Principal] = [:]
    /// Principals with waiting elements, in turn order.
    private var turns: Deque<String> = []
    private(set) var count = 0

    init(capacity: Int, perPrincipal: Int, perSession: Int) {
        (self.capacity, self.perPrincipal, self.perSession) = (capacity, perPrincipal, perSession)
    }

    var isEmpty: Bool { count == 0 }

    mutating func append(_ element: Element, principal: String, session: String?) throws(Refusal) {
        guard count < capacity else { throw .full }
        var waiting = principals[principal] ?? Principal()
        guard waiting.count < perPrincipal else { throw .principalFull }
        guard session == nil || waiting.sessions[session, default: []].count < perSession else {
            throw .sessionFull
        }
        if waiting.count == 0 { turns.append(principal) }
        if waiting.sessions[session, default: []].isEmpty { waiting.turns.append(session) }
        waiting.sessions[session, default: []].append(element)
        waiting.count += 1
        principals[principal] = waiting
        count += 1
    }

    /// The next element in turn: the first waiting element of the next session of the next principal.
    mutating func popFirst() -> Element? {
        guard let principal = turns.popFirst() else { return nil }
        var waiting = principals[principal]!
        let session = waiting.turns.removeFirst()
        let element = waiting.sessions[session]!.removeFirst()
        if waiting.sessions[session]!.isEmpty {
            waiting.sessions[session] = nil
        } else {
            waiting.turns.append(session)
        }
        waiting.count -= 1
        count -= 1
        if waiting.count == 0 {
            principals[principal] = nil
        } else {
            principals[principal] = waiting
            turns.append(principal)
        }
        return element
    }

    /// Removes and returns the elements `shouldRemove` picks, keeping the others in their turns.
    mutating func removeAll(where shouldRemove: (Element) -> Bool) -> [Element] {
        var removed: [Element] = []
        for principal in Array(principals.keys) {
            var waiting = principals[principal]!
            for session in Array(waiting.sessions.keys) {
                let elements = waiting.sessions[session]!
                var kept = Deque<Element>()
                for element in elements {
                    if shouldRemove(element) { removed.append(element) } else { kept.append(element) }
                }
                guard kept.count != elements.count else { continue }
                waiting.count -= elements.count - kept.count
                count -= elements.count - kept.count
                if kept.isEmpty {
                    waiting.sessions[session] = nil
                    waiting.turns.removeAll { $0 == session }
                } else {
                    waiting.sessions[session] = kept
                }
            }
            if waiting.count == 0 {
                principals[principal] = nil
                turns.removeAll { $0 == principal }
            } else {
                principals[principal] = waiting
            }
        }
        return removed
    }

    /// Every waiting element, in no particular order.
    var elements: [Element] { principals.values.flatMap { $0.sessions.values.flatMap { $0 } } }
}

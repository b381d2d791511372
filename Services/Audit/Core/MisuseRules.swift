import ContactPointAPI
import Foundation
import Timekeeping

/// The rules that raise review items as events arrive, each evaluated against the log as it
/// stands when the event is appended (in the same transaction), so that an item is never lost
/// and never raised twice for one event.
///
/// A finding either stands alone (each override is reviewed on its own) or joins the open item
/// of the same rule and practitioner raised within its window (a burst of views is one item).
public struct MisuseRules: Sendable {
    /// Disclosures per practitioner in any hour beyond which each further one is reviewed.
    public var disclosuresPerHour = 100
    /// Denied attempts per practitioner within `deniedWindow` that raise an item.
    public var deniedAttempts = 5
    public var deniedWindow: Duration = .seconds(15 * 60)
    public var workingHours = WorkingHours()

    public init() {}

    /// Monday to Friday between two times of day, in a time zone (Europe/London by default).
    public struct WorkingHours: Sendable, Equatable, CustomStringConvertible {
        public var startMinute = 8 * 60
        public var endMinute = 18 * 60
        public var timeZone = TimeZone(identifier: "Europe/London") ?? .gmt {
            didSet { calendar.timeZone = timeZone }
        }
        /// Made once: a calendar costs tens of microseconds to make, and every disclosure asks.
        private var calendar: Calendar = {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "Europe/London") ?? .gmt
            return calendar
        }()

        public init() {}

        public init?(parsing text: String, timeZone: TimeZone) {
            let parts = text.split(separator: "-").map { $0.split(separator: ":").compactMap { Int($0) } }
            guard parts.count == 2,
                parts.allSatisfy({ $0.count == 2 && (0..<24).contains($0[0]) && (0..<60).contains($0[1]) })
            else {
                return nil
            }
            startMinute = parts[0][0] * 60 + parts[0][1]
            endMinute = parts[1][0] * 60 + parts[1][1]
            guard startMinute < endMinute else { return nil }
            self.timeZone = timeZone
            calendar.timeZone = timeZone
        }

        public var description: String {
            String(format: "%02d:%02d-%02d:%02d ", startMinute / 60, startMinute % 60, endMinute / 60, endMinute % 60)
                + timeZone.identifier
        }

        public func contains(millisecondsSince1970 ms: Int64) -> Bool {
            let parts = calendar.dateComponents(
                [.weekday, .hour, .minute], from: Instant(milliseconds: ms).date)
            guard let weekday = parts.weekday, (2...6).contains(weekday) else { return false }
            let minute = (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
            return minute >= startMinute && minute < endMinute
        }
    }

    public enum Rule: String, Sendable, CaseIterable {
        case unusualVolume = "unusual-volume"
        case shieldOverride = "shield-override"
        case consentOverride = "consent-override"
        case uninvolvedOtherAuthority = "uninvolved-other-authority"
        case sharesSurnameAndPostcode = "shares-surname-and-postcode"
        case outOfHours = "out-of-hours"
        case repeatedDenials = "repeated-denials"
    }

    /// The rules whose items an auditor takes first: every override.
    public static let highPriority: Set<Rule> = [.shieldOverride, .consentOverride]

    struct Finding: Equatable {
        var rule: Rule
        /// Join an open item of the same rule and practitioner raised this recently (ms); `nil`: a new item.
        var joinWithin: Int64?
    }

    /// How far back any rule counts.
    var longestWindow: Int64 { max(Self.hour, deniedWindowMS) }

    private var deniedWindowMS: Int64 { deniedWindow.wholeMilliseconds }

    static let hour: Int64 = 3_600_000

    /// What `event` (already appended) trips, given the log before it. `count` gives the
    /// practitioner's events within the event's organisation (a practitioner belongs to one
    /// organisation at a time) that occurred after a time, the event itself included.
    func findings(
        for event: Contactpoint_V1_AuditEvent, count: (_ tally: RecentActivity.Tally, _ since: Int64) throws -> Int
    ) rethrows -> [Finding] {
        guard !event.actor.practitionerID.isEmpty else { return [] }
        let hour = Self.hour
        var findings: [Finding] = []
        switch event.override {
        case .shield: findings.append(Finding(rule: .shieldOverride))
        case .consent: findings.append(Finding(rule: .consentOverride))
        default: break
        }
        if event.outcome == .denied {
            let window = deniedWindowMS
            if try count(.denials, event.occurredAtMs - window) >= deniedAttempts {
                findings.append(Finding(rule: .repeatedDenials, joinWithin: window))
            }
        }
        guard event.category == .disclosure, event.outcome == .permitted else { return findings }
        let disclosures = try count(.disclosures, event.occurredAtMs - hour)
        if disclosures > disclosuresPerHour { findings.append(Finding(rule: .unusualVolume, joinWithin: hour)) }
        let access = event.access
        if !access.childLocalAuthority.isEmpty, access.childLocalAuthority != event.actor.localAuthority,
            !access.callerOrganisationInvolved
        {
            findings.append(Finding(rule: .uninvolvedOtherAuthority, joinWithin: hour))
        }
        if access.sharesCallerSurnameAndPostcode { findings.append(Finding(rule: .sharesSurnameAndPostcode)) }
        if !workingHours.contains(millisecondsSince1970: event.occurredAtMs) {
            findings.append(Finding(rule: .outOfHours, joinWithin: 12 * hour))
        }
        return findings
    }
}

extension MisuseRules.Finding {
    init(rule: MisuseRules.Rule) { self.init(rule: rule, joinWithin: nil) }
}

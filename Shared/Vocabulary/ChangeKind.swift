/// What changed, as a change event (`IndexChangeEvent.change`, `ConsentChangeEvent.change`) and
/// an alert (`Alert.change`) say it.
public struct ChangeKind: Hashable, Sendable, CustomStringConvertible {
    private enum Wrapped: String, CaseIterable {
        case involvementRecorded = "involvement-recorded"
        case involvementEnded = "involvement-ended"
        case indicatorRaised = "indicator-raised"
        case indicatorCleared = "indicator-cleared"
        case leadProfessionalSet = "lead-professional-set"
        case leadProfessionalCleared = "lead-professional-cleared"
        case consentRecorded = "consent-recorded"
        case consentWithdrawn = "consent-withdrawn"
        case overrideRecorded = "override-recorded"
        case overrideWithdrawn = "override-withdrawn"
        /// A child's record was shielded: alerts already in inboxes lose what says where the child is.
        case recordShielded = "record-shielded"
    }

    private let wrapped: Wrapped
    private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

    /// A kind by its text, or `nil` for one not listed here.
    public init?(_ text: String) {
        guard let wrapped = Wrapped(rawValue: text) else { return nil }
        self.wrapped = wrapped
    }

    /// `involvement-recorded`.
    public var description: String { wrapped.rawValue }

    public static let all: [ChangeKind] = Wrapped.allCases.map(ChangeKind.init)

    public static let involvementRecorded = Self(.involvementRecorded)
    public static let involvementEnded = Self(.involvementEnded)
    public static let indicatorRaised = Self(.indicatorRaised)
    public static let indicatorCleared = Self(.indicatorCleared)
    public static let leadProfessionalSet = Self(.leadProfessionalSet)
    public static let leadProfessionalCleared = Self(.leadProfessionalCleared)
    public static let consentRecorded = Self(.consentRecorded)
    public static let consentWithdrawn = Self(.consentWithdrawn)
    public static let overrideRecorded = Self(.overrideRecorded)
    public static let overrideWithdrawn = Self(.overrideWithdrawn)
    public static let recordShielded = Self(.recordShielded)

    /// The changes other agencies involved with the child are alerted to.
    public static let alerting: Set<ChangeKind> = [.involvementRecorded, .indicatorRaised, .leadProfessionalSet]
    public var alertsOthers: Bool { Self.alerting.contains(self) }
}

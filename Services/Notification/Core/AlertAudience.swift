import ContactPointAPI

/// Whose alerts a caller sees: the only way alerts are read, listed, followed or changed, so no
/// call can reach another practitioner's or organisation's.
enum AlertAudience: Sendable, Equatable {
    /// A practitioner's own inbox: alerts about the involvements they recorded.
    case practitioner(String)
    /// An organisation's inbox as its practitioners see it: alerts of involvements a feed gave,
    /// and escalated ones.
    case organisationInbox(String)
    /// An agency gateway: every alert of its organisation.
    case gateway(String)

    /// The condition on `alert` rows, with its argument.
    var condition: (sql: String, argument: String) {
        switch self {
        case .practitioner(let id): ("recipient_practitioner = ?", id)
        case .organisationInbox(let organisation):
            ("recipient_organisation = ? AND recipient_practitioner IS NULL", organisation)
        case .gateway(let organisation): ("recipient_organisation = ?", organisation)
        }
    }

    func contains(_ alert: Contactpoint_V1_Alert) -> Bool {
        switch self {
        case .practitioner(let id): alert.recipientPractitionerID == id
        case .organisationInbox(let organisation):
            alert.recipientOrganisationID == organisation && alert.recipientPractitionerID.isEmpty
        case .gateway(let organisation): alert.recipientOrganisationID == organisation
        }
    }
}

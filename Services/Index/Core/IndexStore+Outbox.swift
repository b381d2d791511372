import ContactPointAPI
import Foundation
import GRDB
import Identifiers
public import StoreSupport
import Vocabulary

/// The two outboxes (``OutboxTables``): access and change events for the audit trail, change
/// events (`IndexChangeEvent`) for the notification service.
extension IndexStore {
    public var outboxes: Outboxes { Outboxes(writer) }

    // MARK: Rows

    /// Appends a change's audit event naming the child and, as its subject, the involvement.
    func appendAudit(_ event: Contactpoint_V1_AuditEvent, childID: Int64, involvementID: Int64?, _ db: Database)
        throws
    {
        var event = event
        event.childIds = [Self.childID(childID)]
        if let involvementID { event.subjectID = "involvement-\(involvementIDs.id(ofRow: involvementID))" }
        try OutboxTables.appendAudit(event, db)
    }

    /// `recorded_by` of an involvement a data feed gave: this prefix, then the administrator who
    /// loaded it. Alerts about the child go to that organisation's inbox, not to the administrator.
    static let feedRecorder = "feed:"

    func appendChange(
        _ change: ChangeKind, childID: Int64, involvementID: Int64, organisationID: String,
        serviceType: Contactpoint_V1_ServiceType,
        indicator: Contactpoint_V1_IndicatorKind = .unspecified, by practitionerID: String, now: Int64, _ db: Database
    ) throws {
        var event = Contactpoint_V1_IndexChangeEvent.with {
            $0.eventID = EventID.make()
            $0.occurredAtMs = now
            $0.change = change.description
            $0.childID = Self.childID(childID)
            $0.involvementID = involvementIDs.id(ofRow: involvementID)
            $0.organisationID = organisationID
            $0.serviceType = serviceType
            $0.indicator = indicator
            $0.practitionerID = practitionerID
        }
        if change.alertsOthers { try addRecipients(to: &event, childID: childID, involvementID: involvementID, db) }
        try OutboxTables.appendChange(event, db)
    }

    /// What the notification service needs to tell the others, as the index stands in this
    /// transaction: the child, the involvement that changed, every other involvement not ended.
    private func addRecipients(
        to event: inout Contactpoint_V1_IndexChangeEvent, childID: Int64, involvementID: Int64, _ db: Database
    ) throws {
        let child = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT c.row, c.given_name, c.family_name, c.date_of_birth, c.is_shielded, a.postcode
                    FROM child c LEFT JOIN child_address a ON a.child_row = c.row AND a.position = 0 WHERE c.id = ?
                    """),
            arguments: [childID])!
        let shielded: Bool = child["is_shielded"]
        event.child = .with {
            $0.name = .with {
                $0.given = child["given_name"]
                $0.family = child["family_name"]
            }
            $0.dateOfBirth = child["date_of_birth"]
            $0.shielded = shielded
            if !shielded { $0.postcode = child["postcode"] ?? "" }
        }
        for (involvement, recorder) in try involvements(ofChildRow: child["row"], childID: childID, current: true, db) {
            if involvement.involvementID == event.involvementID {
                event.involvement = involvement
            } else {
                event.recipients.append(
                    .with {
                        $0.involvement = shielded ? Self.withoutWhereabouts(involvement) : involvement
                        $0.practitionerID = recorder.hasPrefix(Self.feedRecorder) ? "" : recorder
                    })
            }
        }
        if !event.hasInvolvement { event.involvement = try involvement(id: involvementID, db) }
        // Told to every other agency, the involvement that changed says where a shielded child is:
        // the alert keeps what kind of service it is and what it flagged, and enquiries go through
        // the child's local authority (the event's organisation_id still routes it).
        if shielded { event.involvement = Self.withoutWhereabouts(event.involvement) }
    }

    /// An involvement as a shielded child's change event carries it: the kind of service, the
    /// indicators and the ids that route alerts; no organisation name or contact, nor who raised
    /// an indicator.
    static func withoutWhereabouts(_ involvement: Contactpoint_V1_Involvement) -> Contactpoint_V1_Involvement {
        var kept = involvement
        kept.organisationName = ""
        kept.clearContact()
        for index in kept.indicators.indices { kept.indicators[index].raisedBy = "" }
        return kept
    }
}

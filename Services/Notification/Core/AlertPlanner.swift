import ConsentClient
import ContactPointAPI
import Vocabulary

/// Who is told of a change, and what they are told: every other organisation with an
/// involvement with the child that has not ended — never the originating one —, the
/// practitioner who recorded that involvement and, for an involvement a feed gave, the
/// organisation's inbox. A sensitive service's involvement is neither announced nor told of
/// others unless consent (or an override) allows it now; a shielded child's alerts carry no
/// address and do not say which organisation flagged, only what kind of service (docs/INDEX.md,
/// *Shielding*).
struct AlertPlanner: Sendable {
    let consent: any ConsentDecisions

    /// Each event's alerts, by event id: consent is asked once per event that involves a
    /// sensitive service. Throws if the consent service cannot answer (the events are then
    /// delivered again later: nothing is alerted without its decision).
    func plan(_ events: [Contactpoint_V1_IndexChangeEvent]) async throws -> [String: [Contactpoint_V1_Alert]] {
        var plans: [String: [Contactpoint_V1_Alert]] = [:]
        for event in events where ChangeKind(event.change)?.alertsOthers == true && event.hasInvolvement {
            let sensitive = Set(
                ([event.involvement] + event.recipients.map(\.involvement)).filter(\.sensitive).map(\.serviceType))
            let allowed = sensitive.isEmpty ? [] : try await consent.allowed(sensitive, childID: event.childID)
            plans[event.eventID] = Self.alerts(for: event, allowed: allowed)
        }
        return plans
    }

    /// Takes from an alert what says where a shielded child is: the postcode, and which
    /// organisation flagged (its id, name and contact). The kind of service and what changed stay.
    static func shield(_ alert: inout Contactpoint_V1_Alert) {
        alert.child.shielded = true
        alert.child.postcode = ""
        alert.from.organisationID = ""
        alert.from.organisationName = ""
        alert.from.clearContact()
        // Who raised an indicator is a practitioner of that organisation.
        for index in alert.from.indicators.indices { alert.from.indicators[index].raisedBy = "" }
    }

    static func alerts(for event: Contactpoint_V1_IndexChangeEvent, allowed: Set<Contactpoint_V1_ServiceType>)
        -> [Contactpoint_V1_Alert]
    {
        let origin = event.involvement
        guard !origin.sensitive || allowed.contains(origin.serviceType) else { return [] }
        var told = Set<String>()
        return event.recipients.compactMap { recipient in
            let involvement = recipient.involvement
            guard involvement.organisationID != origin.organisationID,
                !involvement.sensitive || allowed.contains(involvement.serviceType),
                told.insert("\(involvement.organisationID)/\(recipient.practitionerID)").inserted
            else { return nil }
            return .with {
                $0.change = event.change
                $0.indicator = event.indicator
                $0.childID = event.childID
                $0.child = event.child
                $0.from = origin
                // The index sends neither postcode nor organisation for a shielded child; an
                // older one might.
                if event.child.shielded { Self.shield(&$0) }
                $0.recipientOrganisationID = involvement.organisationID
                $0.recipientPractitionerID = recipient.practitionerID
                $0.recipientInvolvementID = involvement.involvementID
            }
        }
    }
}

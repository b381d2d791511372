import ContactPointAPI
import GRDB
import Identifiers
import StoreSupport
import Timekeeping
import Vocabulary

/// Telling practitioners, and their authority's administrators, that a criminal-records check is
/// about to lapse and that it has: a login is refused from the day it lapses (``Vetting``).
extension IdentityStore {
    /// How long before a check lapses the practitioner is told.
    static let vettingWarningDays = 30

    /// Records, once per check and stage, a notice to each active practitioner whose check
    /// lapses within ``vettingWarningDays`` of `today` or has lapsed, and to the active
    /// local-authority administrators of their organisation's authority. Idempotent: a stage told
    /// is never told again for the same check, by this instance or another. Returns how many
    /// practitioners were told.
    @discardableResult
    func tellLapsingVetting(today: CalendarDay, now: Int64) async throws -> Int {
        let warnFrom = today.adding(days: Self.vettingWarningDays).adding(years: -Vetting.checkValidYears)
        return try await writer.write { db in
            let due = try Row.fetchAll(
                db,
                sql: """
                    SELECT p.id, p.crb_checked_on, o.local_authority FROM practitioner p
                    JOIN organisation o ON o.id = p.organisation_id
                    WHERE p.status = 'active' AND p.crb_checked_on IS NOT NULL AND p.crb_checked_on <= ?
                    """,
                arguments: [warnFrom.description])
            var told = 0
            for row in due {
                let practitioner: String = row["id"]
                guard let checked = CalendarDay(row["crb_checked_on"] as String) else { continue }
                let lapses = checked.adding(years: Vetting.checkValidYears)
                let lapsed = today >= lapses
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO vetting_notice (practitioner_id, crb_checked_on, stage, told_at)
                        VALUES (?, ?, ?, ?)
                        """,
                    arguments: [practitioner, checked.description, lapsed ? "lapsed" : "lapses-soon", now])
                guard db.changesCount == 1 else { continue }
                told += 1
                let event = IdentityEvent(
                    action: lapsed ? .vettingLapsed : .vettingLapsesSoon, subject: practitioner,
                    count: lapsed ? nil : today.days(until: lapses), at: now)
                try event.append(db)
                guard let notice = event.notice else { continue }
                let administrators = try String.fetchAll(
                    db,
                    sql: """
                        SELECT p.id FROM practitioner p
                        JOIN practitioner_role r ON r.practitioner_id = p.id AND r.role = ?
                        JOIN organisation o ON o.id = p.organisation_id
                        WHERE o.local_authority = ? AND p.status = 'active' AND p.id != ?
                        """,
                    arguments: [Role.localAuthorityAdministrator.name, row["local_authority"], practitioner])
                for administrator in administrators {
                    var copy = notice
                    copy.eventID = EventID.make()
                    copy.practitionerID = administrator
                    copy.aboutPractitionerID = practitioner
                    try OutboxTables.appendChange(copy, db)
                }
            }
            return told
        }
    }
}

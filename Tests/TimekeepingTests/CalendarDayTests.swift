import Foundation
import Testing
import Timekeeping

@Suite("Calendar days in England")
struct CalendarDayTests {
    @Test(
        """
        the day in England is Foundation's Gregorian date in Europe/London: every day from 1900 to 2100 and every \
        97th from 1600 to 2400, at 00:30 and 23:30 UTC (either side of England's midnight in summer and winter)
        """
    )
    func matchesFoundation() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/London")!
        var mismatches: [String] = []
        for day in Array(-25_568...48_212) + Array(stride(from: -135_140, through: 157_000, by: 97)) {
            for seconds: Int64 in [1800, 84_600] {
                let instant = Instant(seconds: Int64(day) * 86_400 + seconds)
                let parts = calendar.dateComponents([.year, .month, .day], from: instant.date)
                let expected = String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
                let computed = CalendarDay(inEngland: instant)
                if computed.description != expected || computed != CalendarDay(expected) {
                    mismatches.append("\(instant): \(computed), not \(expected)")
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(3))")
    }

    @Test("in British Summer Time England's day begins at 23:00 UTC; in winter at midnight")
    func summerTime() {
        let lateJuneEvening = Instant(seconds: 1_782_257_400)  // 2026-06-23T23:30:00Z
        #expect(CalendarDay(inEngland: lateJuneEvening).description == "2026-06-24")
        let lateDecemberEvening = Instant(seconds: 1_798_068_600)  // 2026-12-23T23:30:00Z
        #expect(CalendarDay(inEngland: lateDecemberEvening).description == "2026-12-23")
    }

    @Test("a day is parsed exactly, and moves by days and years (29 February to 28 February)")
    func arithmetic() throws {
        for text in ["2026-02-29", "2026-13-01", "2026-1-01", "2026-01-1 ", "20260101", "", "２０２６-01-01"] {
            #expect(CalendarDay(text) == nil, "\(text)")
        }
        let leapDay = try #require(CalendarDay("2024-02-29"))
        #expect(leapDay.adding(years: 1).description == "2025-02-28")
        #expect(leapDay.adding(days: 1).description == "2024-03-01")
        #expect(leapDay.days(until: CalendarDay("2025-02-28")!) == 365)
        #expect(CalendarDay(daysSince1970: 0).description == "1970-01-01")
        #expect(CalendarDay("1969-12-31")!.daysSince1970 == -1)
        #expect(CalendarDay(year: 2023, month: 2, day: 29) == nil)
    }
}

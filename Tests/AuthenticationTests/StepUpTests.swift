import Authentication
import Testing
import Timekeeping
import Vocabulary

@Suite("Step-up window")
struct StepUpTests {
    @Test("a code entered 300 s ago counts as stepped up for a 5-minute window, 301 s ago does not")
    func window() {
        let enteredAt: Int64 = 1_800_000_000
        let claims = SessionClaims(
            sub: "p-1", sid: "s-1", org: "org-1", la: "E09000033", roles: ["named-person"], iat: enteredAt,
            exp: enteredAt + 43_200, stepUpAt: enteredAt)
        let caller = Caller(claims: claims, token: "token")
        let entered = Instant(seconds: enteredAt)
        #expect(caller.hasSteppedUp(within: .seconds(300), at: entered + .seconds(300)))
        #expect(!caller.hasSteppedUp(within: .seconds(300), at: entered + .seconds(301)))
        // Seconds and milliseconds mixed up would make this window 1000 times too wide.
        #expect(!caller.hasSteppedUp(at: entered + .seconds(3_000)))
        let event = caller.auditEvent(.viewRecord, category: .disclosure, at: entered + .seconds(299))
        #expect(event.steppedUp && event.occurredAtMs == (entered + .seconds(299)).milliseconds)
    }
}

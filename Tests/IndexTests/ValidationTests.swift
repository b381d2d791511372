import ContactPointAPI
import Foundation
import GRPCCore
import RecordFields
import Testing
import Timekeeping

@testable import Index

@Suite("Field validation")
struct ValidationTests {
    typealias V = FieldValidation

    /// The field path an invalid value is reported under, or nil if it was accepted.
    func rejection(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as RPCError {
            #expect(error.code == .invalidArgument)
            return String(error.message.prefix { $0 != ":" })
        } catch {
            Issue.record(error)
            return nil
        }
    }

    @Test("UK postcodes are accepted in any case and spacing and normalised; malformed ones are refused")
    func postcodes() throws {
        for (given, normal) in [
            ("sw1a1aa", "SW1A 1AA"), ("M1 1AE", "M1 1AE"), ("b33 8th", "B33 8TH"), ("CR2 6XH", "CR2 6XH"),
            ("DN55 1PT", "DN55 1PT"),
        ] {
            #expect(try V.postcode(given, "p") == normal)
        }
        for bad in ["", "SW1A", "1AA SW1", "SW1A 1CA", "QA1 1AA", "SW1A-1AA", "SW1A 1AAA", "ÅB1 1AA"] {
            #expect(rejection { _ = try V.postcode(bad, "address.postcode") } == "address.postcode", "\(bad)")
        }
        #expect(Postcode.isOutward("SW1A") && Postcode.isOutward("M1") && !Postcode.isOutward("1AA"))
    }

    @Test(
        """
        names take letters of any script, spaces, hyphens and apostrophes; digits, symbols and overlong names are \
        refused
        """
    )
    func names() throws {
        for good in ["Zoë", "O'Brien", "Smith-Jones", "Siobhán Mary", "St. John", "Nguyễn"] {
            #expect(try V.personName(good, "n") == good)
        }
        for bad in ["", " ", "J0hn", "<script>", "-Ann", String(repeating: "a", count: 101), "Ann\u{0}"] {
            #expect(rejection { _ = try V.personName(bad, "name.given") } == "name.given", "\(bad)")
        }
    }

    @Test("telephone numbers, emails, dates, local authorities and reason texts are checked for shape")
    func otherFields() throws {
        #expect(try V.telephone("+44 20 7946 0000", "t") == "+44 20 7946 0000")
        #expect(rejection { _ = try V.telephone("call me", "t") } == "t")
        #expect(rejection { _ = try V.telephone("123", "t") } == "t")
        #expect(try V.email("dsl@school.example.sch.uk", "e") == "dsl@school.example.sch.uk")
        for bad in ["no-at", "a@b", "a@@b.uk", "a b@c.uk", "@c.uk"] {
            #expect(rejection { _ = try V.email(bad, "e") } == "e", "\(bad)")
        }
        #expect(try V.pastDate("2016-02-29", "d", today: "2026-11-26") == "2016-02-29")
        for bad in ["2015-02-29", "2026-13-01", "26-11-2026", "2027-01-01", "1899-12-31"] {
            #expect(rejection { _ = try V.pastDate(bad, "d", today: "2026-11-26") } == "d", "\(bad)")
        }
        #expect(rejection { _ = try V.localAuthority("e09", "la") } == "la")
        #expect(rejection { _ = try V.reasonText("line\nbreak", "reason.text") } == "reason.text")
        #expect(rejection { _ = try V.reasonText(String(repeating: "x", count: 201), "reason.text") } == "reason.text")
    }

    @Test("a record's first bad field is named by its path, e.g. a carer's telephone")
    func recordPaths() {
        var entry = IndexFixture.child("Amelia", "Smith", born: "2015-04-01")
        entry.child.carers[0].telephone = "not a number"
        #expect(
            rejection { _ = try RecordValidation.child(entry.child, "children[0].child", today: "2026-11-26") }
                == "children[0].child.carers[0].telephone")
        entry = IndexFixture.child("Amelia", "Smith", born: "2015-04-01")
        entry.child.gender = .unspecified
        #expect(
            rejection { _ = try RecordValidation.child(entry.child, "child", today: "2026-11-26") } == "child.gender")
        entry = IndexFixture.child("Amelia", "Smith", born: "2015-04-01")
        entry.child.childID = "1234567890"
        #expect(
            rejection { _ = try RecordValidation.child(entry.child, "child", today: "2026-11-26") } == "child.child_id")
        var involvement = IndexFixture.involvement(org: "org-1")
        involvement.serviceType = .unspecified
        #expect(
            rejection { _ = try RecordValidation.involvement(involvement, "involvement", today: "2026-11-26") }
                == "involvement.service_type")
        involvement = IndexFixture.involvement(org: "org-1")
        involvement.contact.secureEmail = "nobody"
        #expect(
            rejection { _ = try RecordValidation.involvement(involvement, "involvement", today: "2026-11-26") }
                == "involvement.contact.secure_email")
        // A feed's involvement may not start before the child was born
        entry = IndexFixture.child("Amelia", "Smith", born: "2015-04-01")
        entry.involvements = [IndexFixture.involvement(org: "org-1")]
        entry.involvements[0].startDate = "2015-03-31"
        #expect(
            rejection { _ = try RecordValidation.entries([entry], today: "2026-11-26") }
                == "children[0].involvements[0].start_date")
        entry.involvements[0].startDate = "2015-04-01"
        #expect(rejection { _ = try RecordValidation.entries([entry], today: "2026-11-26") } == nil)
    }
}

@Suite("Name matching")
struct NameMatchingTests {
    @Test("spelling variants, dropped letters and doubled letters share a sound code")
    func soundCodes() {
        func code(_ name: String) -> String { NameMatching.soundCode(NameMatching.fold(name)) }
        for group in [
            ["Catherine", "Kathryn", "Katharine"], ["Stephen", "Steven"], ["Johnson", "Jonson"],
            ["Smith", "Smyth", "Smtih"],
            ["Hannah", "Hanah"], ["Zoë", "Zoe"], ["Mohammed", "Muhammad", "Mohamed"],
        ] {
            #expect(Set(group.map(code)).count == 1, "\(group)")
        }
        #expect(code("Smith") != code("Jones"))
    }

    @Test("folding removes case, accents and punctuation and splits hyphenated names")
    func folding() {
        #expect(NameMatching.fold("Zoë O'Brien-Smith") == "zoe obrien smith")
        #expect(NameMatching.parts("smith jones") == ["smith", "jones", "smithjones"])
    }

    @Test("Jaro–Winkler: equal is 1, a transposition stays high, unrelated names fall low")
    func similarity() {
        #expect(NameMatching.similarity("martha", "martha") == 1)
        #expect(abs(NameMatching.similarity("martha", "marhta") - 0.961) < 0.001)
        #expect(NameMatching.similarity("smith", "smtih") > 0.9)
        #expect(NameMatching.similarity("smith", "jones") < 0.5)
    }

    @Test("nicknames relate both ways and through a shared full name")
    func nicknames() {
        let names = Nicknames.standard
        #expect(names.variants(of: "bill").contains("william") && names.variants(of: "william").contains("bill"))
        #expect(names.variants(of: "bill").contains("will"))
        #expect(names.variants(of: "katie").isSuperset(of: ["kathryn", "kate"]))
        #expect(!names.variants(of: "bill").contains("mary") && !names.variants(of: "bill").contains("bill"))
    }
}

import Identifiers
import Testing

@Suite("ContactPoint ID")
struct ContactPointIDTests {
    @Test("the modulus-11 check digit: published NHS-number examples and their one-digit corruptions")
    func checkDigit() {
        // 943 476 5919 is the NHS number used in NHS Digital's examples; 401 023 2137 another valid one.
        for valid in ["9434765919", "4010232137"] {
            #expect(ContactPointID(valid) != nil, "\(valid)")
            var digits = Array(valid)
            for position in digits.indices {
                let original = digits[position]
                digits[position] = original == "9" ? "0" : Character(String(original.wholeNumberValue! + 1))
                #expect(ContactPointID(String(digits)) == nil, "\(String(digits)) has a wrong check digit")
                digits[position] = original
            }
        }
    }

    @Test("anything but ten digits is not an ID")
    func shape() {
        for text in ["", "943476591", "94347659190", "943476591X", " 943476591", "９４３４７６５９１９", "943-476-59"] {
            #expect(ContactPointID(text) == nil, "\(text)")
        }
    }

    @Test("serials make valid IDs, skipping those whose check would be 10")
    func serials() {
        var made = 0
        for serial in 0..<1100 {
            if let id = ContactPointID(serial: serial) {
                #expect(ContactPointID(id.digits) == id)
                made += 1
            }
        }
        #expect(made > 950 && made < 1050)
        #expect(ContactPointID(serial: 1_000_000_000) == nil)
    }
}

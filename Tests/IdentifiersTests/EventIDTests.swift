import Identifiers
import Testing

@Suite("Event ids")
struct EventIDTests {
    @Test("the RFC 9562 appendix A.6 example UUIDv7 comes out of its time and random bits")
    func rfcExample() {
        // Appendix A.6: 2022-02-22 19:22:22.000 UTC = 0x017F22E279B0 ms; rand_a 0xCC3, rand_b 0x18C4DC0C0C07398F.
        #expect(
            EventID.make(milliseconds: 0x017F_22E2_79B0, random: (0xCC3, 0x18C4_DC0C_0C07_398F))
                == "017f22e2-79b0-7cc3-98c4-dc0c0c07398f")
        #expect(EventID.milliseconds(of: "017f22e2-79b0-7cc3-98c4-dc0c0c07398f") == 0x017F_22E2_79B0)
    }

    @Test("ids sort by their time, and the version and variant bits are set")
    func ordering() {
        let ids = (0..<1000).map { EventID.make(milliseconds: 1_780_000_000_000 + Int64($0)) }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == 1000)
        for id in ids {
            let characters = Array(id)
            #expect(id.count == 36 && characters[14] == "7" && "89ab".contains(characters[19]))
        }
        #expect(
            EventID.milliseconds(of: "3f2504e0-4f89-41d3-9a0c-0305e82c3301") == nil, "a version-4 UUID carries no time")
    }
}

import TerminalQRCode
import Testing

@Suite("QR codes for authenticator enrolment")
struct QRCodeTests {
    let uri =
        "otpauth://totp/ContactPoint:sam.carter%40hillside.example?secret=OXFNC6DTRGPMZU55LOZWF4TYDIEXETSY"
        + "&issuer=ContactPoint&algorithm=SHA1&digits=6&period=30"

    @Test("an otpauth URI encodes as a QR code of a valid size with its three finder patterns")
    func structure() throws {
        let code = try #require(QRCode(uri))
        #expect((code.width - 21) % 4 == 0 && code.width >= 21, "a version's width is 17 + 4 × version")
        // A finder pattern: a dark 7×7 ring around a dark 3×3 centre, separated by light modules.
        func isFinder(atRow row: Int, column: Int) -> Bool {
            (0..<7).allSatisfy { r in
                (0..<7).allSatisfy { c in
                    let ring = r == 0 || r == 6 || c == 0 || c == 6
                    let centre = (2...4).contains(r) && (2...4).contains(c)
                    return code.modules[row + r][column + c] == (ring || centre)
                }
            }
        }
        #expect(isFinder(atRow: 0, column: 0))
        #expect(isFinder(atRow: 0, column: code.width - 7))
        #expect(isFinder(atRow: code.width - 7, column: 0))
        #expect(!isFinder(atRow: code.width - 7, column: code.width - 7))
    }

    @Test("rendering uses two module rows per line inside a quiet zone")
    func rendering() throws {
        let code = try #require(QRCode(uri))
        let lines = code.rendered().split(separator: "\n")
        #expect(lines.count == (code.width + 8 + 1) / 2)
        #expect(lines.allSatisfy { $0.count == code.width + 8 })
        #expect(lines.first?.allSatisfy { $0 == "█" } == true, "the quiet zone is light")
    }

    @Test("different text gives a different code")
    func distinct() throws {
        #expect(QRCode("otpauth://a") != QRCode("otpauth://b"))
    }
}

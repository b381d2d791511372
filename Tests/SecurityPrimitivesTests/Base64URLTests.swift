import Foundation
import SecurityPrimitives
import Testing

@Suite("base64url (RFC 4648 §5, unpadded)")
struct Base64URLTests {
    @Test("RFC 4648's vectors, in the URL alphabet and without padding")
    func vectors() {
        let vectors = [
            ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ]
        for (plain, encoded) in vectors {
            #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
            #expect(Base64URL.decode(encoded) == Array(plain.utf8))
        }
        #expect(Base64URL.encode([0xfb, 0xff, 0xbf]) == "-_-_")
        #expect(Base64URL.decode("-_-_") == [0xfb, 0xff, 0xbf])
    }

    @Test("agrees with Foundation's base64 on random bytes of every length up to 100")
    func agreesWithFoundation() {
        for length in 0...100 {
            let bytes = SecureRandom.bytes(length)
            let foundation = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == foundation)
            #expect(Base64URL.decode(foundation) == bytes)
        }
    }

    @Test("what is not canonical unpadded base64url is refused")
    func refused() {
        for text in ["Zg==", "Zm9v+", "Zm9v/", "Z", "Zm9vY", "Zh", "Zm9", "Zm!v", "Zm9v\u{00e9}", " Zm9v"] {
            #expect(Base64URL.decode(text) == nil, "\(text)")
        }
    }
}

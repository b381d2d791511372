import Foundation
import SecurityPrimitives
import Testing
import WebAuthn

/// The verifier against registrations and assertions made by an independent implementation
/// (python-fido2, whose own server accepted each: `Vectors/make_vectors.py`), and the same
/// mutated. What Chromium's authenticator makes is checked end to end by the browser suite.
@Suite("WebAuthn verification")
struct WebAuthnVerifierTests {
    struct Vectors: Decodable {
        struct Case: Decodable {
            struct Registration: Decodable {
                var challenge, clientDataJSON, attestationObject, credentialId: String
            }
            struct Assertion: Decodable {
                var challenge, clientDataJSON, authenticatorData, signature: String
                var signCount: UInt32
            }
            var name, rpId, origin: String
            var algorithm: Int
            var registration: Registration
            var assertion: Assertion
        }
        var cases: [Case]
    }

    static let cases: [Vectors.Case] = {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Vectors/webauthn-vectors.json")
        return try! JSONDecoder().decode(Vectors.self, from: Data(contentsOf: file)).cases
    }()

    static func bytes(_ text: String) -> [UInt8] { Base64URL.decode(text)! }

    func verifier(_ vector: Vectors.Case) -> WebAuthnVerifier {
        WebAuthnVerifier(relyingPartyID: vector.rpId, origins: [vector.origin])
    }

    func register(_ vector: Vectors.Case, with verifier: WebAuthnVerifier? = nil, attestationObject: [UInt8]? = nil)
        throws(WebAuthnError) -> WebAuthnVerifier.RegisteredCredential
    {
        try (verifier ?? self.verifier(vector)).verifyRegistration(
            clientDataJSON: Self.bytes(vector.registration.clientDataJSON),
            attestationObject: attestationObject ?? Self.bytes(vector.registration.attestationObject),
            challenge: Self.bytes(vector.registration.challenge))
    }

    func assert(
        _ vector: Vectors.Case, _ credential: WebAuthnVerifier.RegisteredCredential, stored: UInt32 = 0,
        signature: [UInt8]? = nil, clientDataJSON: [UInt8]? = nil, challenge: [UInt8]? = nil
    ) throws(WebAuthnError) -> UInt32 {
        try verifier(vector).verifyAssertion(
            clientDataJSON: clientDataJSON ?? Self.bytes(vector.assertion.clientDataJSON),
            authenticatorData: Self.bytes(vector.assertion.authenticatorData),
            signature: signature ?? Self.bytes(vector.assertion.signature),
            challenge: challenge ?? Self.bytes(vector.assertion.challenge), publicKey: credential.publicKey,
            storedSignCount: stored)
    }

    @Test("an independent implementation's registrations and assertions verify", arguments: cases.map(\.name))
    func accepted(name: String) throws {
        let vector = try #require(Self.cases.first { $0.name == name })
        let credential = try register(vector)
        #expect(credential.credentialID == Self.bytes(vector.registration.credentialId))
        #expect(credential.algorithm.rawValue == vector.algorithm)
        #expect(credential.attestationFormat == "none")
        #expect(try assert(vector, credential) == vector.assertion.signCount)
    }

    @Test("another origin, relying party or challenge is refused", arguments: cases.map(\.name))
    func wrongContext(name: String) throws {
        let vector = try #require(Self.cases.first { $0.name == name })
        let credential = try register(vector)
        #expect(throws: WebAuthnError.self) {
            try register(vector, with: WebAuthnVerifier(relyingPartyID: vector.rpId, origins: ["https://evil.example"]))
        }
        #expect(throws: WebAuthnError.self) {
            try register(vector, with: WebAuthnVerifier(relyingPartyID: "evil.example", origins: [vector.origin]))
        }
        #expect(throws: WebAuthnError.self) { try assert(vector, credential, challenge: SecureRandom.bytes(32)) }
        // A registration's client data is not an assertion's.
        #expect(throws: WebAuthnError.self) {
            try assert(vector, credential, clientDataJSON: Self.bytes(vector.registration.clientDataJSON))
        }
    }

    @Test("a signature altered in any byte is refused", arguments: cases.map(\.name))
    func alteredSignature(name: String) throws {
        let vector = try #require(Self.cases.first { $0.name == name })
        let credential = try register(vector)
        let signature = Self.bytes(vector.assertion.signature)
        for index in signature.indices {
            var altered = signature
            altered[index] ^= 0x01
            #expect(throws: WebAuthnError.self, "byte \(index)") { try assert(vector, credential, signature: altered) }
        }
    }

    @Test("a signature counter that does not grow is refused; none on both sides is allowed")
    func signCount() throws {
        for vector in Self.cases {
            let credential = try register(vector)
            let count = vector.assertion.signCount
            if count == 0 {
                #expect(try assert(vector, credential, stored: 0) == 0)
                #expect(throws: WebAuthnError.self) { try assert(vector, credential, stored: 5) }
            } else {
                #expect(try assert(vector, credential, stored: count - 1) == count)
                #expect(throws: WebAuthnError.self) { try assert(vector, credential, stored: count) }
                #expect(throws: WebAuthnError.self) { try assert(vector, credential, stored: count + 10) }
            }
        }
    }

    @Test("a registration without user verification, or with an attestation other than none, is refused")
    func flagsAndFormat() throws {
        let vector = Self.cases[0]
        let object = Self.bytes(vector.registration.attestationObject)
        let authenticatorData = try #require(try CBOR.decode(object)["authData"]?.bytes)
        let start = try #require(object.firstRange(of: authenticatorData)).lowerBound
        var withoutVerification = object
        withoutVerification[start + 32] &= ~0x04
        #expect(throws: WebAuthnError.refused("the user was not verified (a PIN or biometric is required)")) {
            try register(vector, attestationObject: withoutVerification)
        }
        var packed = object
        let format = try #require(object.firstRange(of: Array("none".utf8)))
        packed.replaceSubrange(format, with: Array("tpm!".utf8))
        #expect(throws: WebAuthnError.self) { try register(vector, attestationObject: packed) }
    }

    @Test("mutated attestation objects are refused or read, never crash")
    func mutations() throws {
        var generator = SystemRandomNumberGenerator()
        for vector in Self.cases {
            let object = Self.bytes(vector.registration.attestationObject)
            for _ in 0..<2000 {
                var mutated = object
                switch Int.random(in: 0..<3, using: &generator) {
                case 0:
                    mutated[Int.random(in: mutated.indices, using: &generator)] = UInt8.random(
                        in: 0...255, using: &generator)
                case 1: mutated.removeLast(Int.random(in: 1..<mutated.count, using: &generator))
                default:
                    mutated.insert(
                        UInt8.random(in: 0...255, using: &generator),
                        at: Int.random(in: mutated.indices, using: &generator))
                }
                _ = try? register(vector, attestationObject: mutated)
            }
        }
    }
}

@Suite("The strict CBOR reader")
struct CBORTests {
    @Test("definite items decode; their lengths are checked")
    func decodes() throws {
        #expect(try CBOR.decode([0xa2, 0x01, 0x02, 0x20, 0x43, 1, 2, 3])[integer: -1] == .bytes([1, 2, 3]))
        #expect(try CBOR.decode([0x63, 0x61, 0x62, 0x63]) == .text("abc"))
        #expect(try CBOR.decode([0x19, 0x01, 0x00]) == .unsigned(256))
        #expect(try CBOR.decode([0x82, 0xf5, 0xf6]) == .array([.boolean(true), .null]))
    }

    @Test("what WebAuthn never sends is refused")
    func refuses() {
        let refused: [[UInt8]] = [
            [],  // nothing
            [0x43, 1, 2],  // a byte string cut short
            [0x01, 0x02],  // bytes after the item
            [0x5f, 0x41, 0x01, 0xff],  // an indefinite byte string
            [0xc2, 0x41, 0x01],  // a tag
            [0xf9, 0x3c, 0x00],  // a half-precision float
            [0xa2, 0x01, 0x01, 0x01, 0x02],  // a repeated map key
            [0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],  // an array claiming 2^64-1 items
            [0x62, 0xff, 0xfe],  // text that is not UTF-8
            [UInt8](repeating: 0x81, count: 20) + [0x00],  // nested 20 deep
            [0x1c],  // reserved additional information
        ]
        for bytes in refused {
            #expect(throws: CBORError.self, "\(bytes)") { try CBOR.decode(bytes) }
        }
    }
}

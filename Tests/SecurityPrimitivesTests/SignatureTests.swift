import Foundation
import SecurityPrimitives
import Testing

@Suite("Ed25519, JWS and sealed secrets")
struct SignatureTests {
    @Test("RFC 8032 §7.1 test 1: the public key and signature of the empty message")
    func ed25519Vector() throws {
        let key = try Ed25519.PrivateKey(
            rawRepresentation: [UInt8](hex: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")!)
        #expect(
            key.publicKey.rawRepresentation.hexString
                == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        let signature = try key.signature(for: [])
        #expect(
            signature.hexString
                == "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                + "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        )
        #expect(key.publicKey.isValidSignature(signature, for: []))
        #expect(!key.publicKey.isValidSignature(signature, for: [0]))
        #expect(!key.description.contains(key.rawRepresentation.hexString), "the private key is never printed")
    }

    @Test("a JWS verifies under the key its kid names; altered, re-keyed or alg-swapped tokens do not")
    func jws() throws {
        let key = Ed25519.PrivateKey.generate()
        let other = Ed25519.PrivateKey.generate()
        let token = try CompactJWS.sign(payload: Array(#"{"sub":"p-1"}"#.utf8), keyID: "k1", with: key)
        let trusted = ["k1": key.publicKey]
        #expect(try CompactJWS.verify(token, keys: { trusted[$0] }) == Array(#"{"sub":"p-1"}"#.utf8))

        let parts = token.split(separator: ".").map(String.init)
        let forgedPayload = parts[0] + "." + Base64URL.encode(Array(#"{"sub":"p-2"}"#.utf8)) + "." + parts[2]
        #expect(throws: CompactJWS.VerificationError.badSignature) {
            try CompactJWS.verify(forgedPayload, keys: { trusted[$0] })
        }

        let otherKeyToken = try CompactJWS.sign(payload: [1], keyID: "k1", with: other)
        #expect(throws: CompactJWS.VerificationError.badSignature) {
            try CompactJWS.verify(otherKeyToken, keys: { trusted[$0] })
        }

        let unknownKid = try CompactJWS.sign(payload: [1], keyID: "k9", with: key)
        #expect(throws: CompactJWS.VerificationError.unknownKey("k9")) {
            try CompactJWS.verify(unknownKid, keys: { trusted[$0] })
        }

        let none = Base64URL.encode(Array(#"{"alg":"none","kid":"k1"}"#.utf8)) + "." + parts[1] + "."
        #expect(throws: CompactJWS.VerificationError.unsupportedAlgorithm("none")) {
            try CompactJWS.verify(none, keys: { trusted[$0] })
        }
        #expect(throws: CompactJWS.VerificationError.malformed) {
            try CompactJWS.verify("not.a-token", keys: { trusted[$0] })
        }
    }

    @Test("a sealed secret opens with its key and context only, and not once altered")
    func secretBox() throws {
        let box = SecretBox(key: SecureRandom.bytes(32))
        let secret = SecureRandom.bytes(20)
        let sealed = try box.seal(secret, context: Array("account-1".utf8))
        #expect(box.open(sealed, context: Array("account-1".utf8)) == secret)
        #expect(box.open(sealed, context: Array("account-2".utf8)) == nil)
        #expect(SecretBox(key: SecureRandom.bytes(32)).open(sealed, context: Array("account-1".utf8)) == nil)
        var altered = sealed
        altered[14] ^= 1
        #expect(box.open(altered, context: Array("account-1".utf8)) == nil)
        #expect(try box.seal(secret, context: []) != box.seal(secret, context: []), "a fresh nonce each time")
    }
}

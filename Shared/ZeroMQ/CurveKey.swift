import CZeroMQ

/// A 32-byte CURVE25519 key (RFC 26), written as 40 characters of Z85 (ZeroMQ RFC 32).
public struct CurveKey: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(CurveKeyError) {
        guard bytes.count == 32 else { throw .wrongLength(bytes.count) }
        self.bytes = bytes
    }

    /// Decodes the 40-character Z85 text form.
    public init(z85 text: String) throws(CurveKeyError) {
        let text = Array(text.utf8)
        guard text.count == 40 else { throw .wrongLength(text.count) }
        var decoded = [UInt8](repeating: 0, count: 32)
        let ok = (text + [0]).withUnsafeBufferPointer { input in
            input.withMemoryRebound(to: CChar.self) { zmq_z85_decode(&decoded, $0.baseAddress) != nil }
        }
        guard ok else { throw .notZ85 }
        self.bytes = decoded
    }

    /// The 40-character Z85 text form.
    public var z85: String {
        var output = [CChar](repeating: 0, count: 41)
        _ = zmq_z85_encode(&output, bytes, bytes.count)
        return String(decoding: output.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The Z85 form: safe to print only for public keys, so secret keys are held in ``CurveKeyPair``,
    /// whose description redacts them.
    public var description: String { z85 }
}

/// A CURVE key pair. Its description never shows the secret key.
public struct CurveKeyPair: Sendable, CustomStringConvertible {
    public let publicKey: CurveKey
    public let secretKey: CurveKey

    /// Generates a new key pair from the operating system's random source (via libsodium in libzmq).
    public static func generate() throws(CurveKeyError) -> CurveKeyPair {
        var publicText = [CChar](repeating: 0, count: 41)
        var secretText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicText, &secretText) == 0 else { throw .curveUnavailable }
        func text(_ chars: [CChar]) -> String {
            String(decoding: chars.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return try CurveKeyPair(secretKey: CurveKey(z85: text(secretText)))
    }

    /// The pair for a secret key; the public key is derived from it.
    public init(secretKey: CurveKey) throws(CurveKeyError) {
        var publicText = [CChar](repeating: 0, count: 41)
        let secretText = secretKey.z85
        guard zmq_curve_public(&publicText, secretText) == 0 else { throw .curveUnavailable }
        self.publicKey = try CurveKey(
            z85: String(decoding: publicText.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        self.secretKey = secretKey
    }

    public var description: String { "CurveKeyPair(public: \(publicKey.z85), secret: <redacted>)" }
}

public enum CurveKeyError: Error, Hashable, CustomStringConvertible {
    case wrongLength(Int)
    case notZ85
    case curveUnavailable
    case unreadableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .wrongLength(let count): "a CURVE key is 32 bytes or 40 Z85 characters, not \(count)"
        case .notZ85: "not a Z85-encoded key"
        case .curveUnavailable: "this libzmq was built without CURVE support"
        case .unreadableFile(let path, let reason): "cannot read key file \(path): \(reason)"
        }
    }
}

import Foundation
public import ServiceRuntime

/// The portal's own settings (docs/CONFIGURATION.md), read after the shared ones (brokers, key
/// file, instance, log level).
public struct PortalSettings: Sendable {
    /// The address and port the HTTPS server binds.
    public var host = "127.0.0.1"
    public var port = 8443
    /// The TLS certificate chain and its private key, PEM files.
    public var certificateFile: String
    public var privateKeyFile: String
    /// Create a self-signed certificate for the origin's host when the files do not exist
    /// (`contactpoint up` sets it; a real host name needs a certificate browsers trust).
    public var createCertificate = false
    /// Where the cookie key lives (`portal-cookie.key`): every portal instance behind one load
    /// balancer must share it.
    public var secretsDirectory: String
    /// The origin browsers reach the portal at (`https://HOST[:PORT]`): state-changing requests
    /// must come from it, and passkeys are bound to its host.
    public var origin: String
    /// How long a session may be idle at identity (its `session-idle-timeout`): the page warns before it.
    public var sessionIdle: Duration = .seconds(15 * 60)

    /// The origin's host name: the WebAuthn relying party id and the certificate's name.
    public var originHost: String { URLComponents(string: origin)?.host ?? "localhost" }

    public init(
        certificateFile: String, privateKeyFile: String, secretsDirectory: String, origin: String
    ) {
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.secretsDirectory = secretsDirectory
        self.origin = origin
    }

    public init(reading reader: inout ConfigurationReader) throws(ConfigurationError) {
        host = try reader.value("listen-host", flag: nil, default: "127.0.0.1", parse: ConfigurationValue.text)
        port = try reader.value(
            "listen-port", flag: nil, default: 8443, parse: ConfigurationValue.integer(in: 0...65535))
        certificateFile = try reader.value(
            "certificate", flag: nil, default: "portal-certificate.pem", parse: ConfigurationValue.text)
        privateKeyFile = try reader.value(
            "private-key", flag: nil, default: "portal-private-key.pem", parse: ConfigurationValue.text)
        createCertificate = try reader.value(
            "create-certificate", flag: nil, default: false, parse: ConfigurationValue.boolean)
        secretsDirectory = try reader.value(
            "secrets-dir", flag: nil, default: "secrets", parse: ConfigurationValue.text)
        let defaultOrigin = port == 443 ? "https://localhost" : "https://localhost:\(port)"
        origin = try reader.value("origin", flag: nil, default: defaultOrigin, parse: Self.origin)
        sessionIdle = try reader.value(
            "session-idle-timeout", flag: nil, default: .seconds(15 * 60), parse: ConfigurationValue.duration)
    }

    /// `https://HOST` or `https://HOST:PORT`, nothing after it: what a browser sends as `Origin`.
    static func origin(_ text: String) throws(ConfigurationError.Problem) -> String {
        guard let url = URLComponents(string: text), url.scheme == "https", let host = url.host, !host.isEmpty,
            url.path.isEmpty, url.query == nil, url.fragment == nil, url.user == nil
        else {
            throw ConfigurationError.Problem(
                "\(text) is not an https origin", fix: "give https://HOST or https://HOST:PORT, no path")
        }
        return text
    }
}

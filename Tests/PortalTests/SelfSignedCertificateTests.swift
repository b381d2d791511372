import Foundation
import NIOSSL
import SecurityPrimitives
import Testing

@Suite("The portal's self-signed certificate")
struct SelfSignedCertificateTests {
    @Test("a P-256 certificate for the host and loopback, its key matching, valid now")
    func certificate() throws {
        let made = try SelfSignedCertificate.generate(hostNames: ["localhost"], days: 30)
        let certificate = try NIOSSLCertificate(bytes: Array(made.certificatePEM.utf8), format: .pem)
        let key = try NIOSSLPrivateKey(bytes: Array(made.privateKeyPEM.utf8), format: .pem)
        // A server context takes a certificate and key only if they belong together.
        _ = try NIOSSLContext(
            configuration: .makeServerConfiguration(
                certificateChain: [.certificate(certificate)], privateKey: .privateKey(key)))
        let names = Array(certificate._subjectAlternativeNames())
        #expect(names.contains { $0.nameType == .dnsName && Array($0.contents) == Array("localhost".utf8) })
        #expect(names.contains { $0.nameType == .ipAddress && Array($0.contents) == [127, 0, 0, 1] })
        let now = time_t(Date().timeIntervalSince1970)
        #expect(certificate.notValidBefore <= now && now < certificate.notValidAfter)
        #expect(certificate.notValidAfter - now > 29 * 86_400)
        #expect(made.privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
    }
}

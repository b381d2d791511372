import Foundation
import SecurityPrimitives
import Testing

@testable import Portal

@Suite("The portal's cookies and forms")
struct PortalCookiesTests {
    let cookies = PortalCookies(secret: SecureRandom.bytes(32))
    let practitioner = SignedInPractitioner(
        token: "header.payload.signature", practitionerID: "p-1", name: "Sam O'Brien",
        organisationName: "Smith & Sons Primary", roles: ["practitioner"], previousSessionStartedAt: 0,
        failedAttemptsSince: 2)

    @Test("a sealed session opens with the same key, and not with another or altered")
    func sealAndOpen() throws {
        let sealed = try cookies.seal(practitioner)
        #expect(cookies.open(sealed)?.name == "Sam O'Brien")
        #expect(!sealed.contains("Sam"), "the cookie is not readable")
        #expect(PortalCookies(secret: SecureRandom.bytes(32)).open(sealed) == nil)
        var bytes = try #require(Base64URL.decode(sealed))
        bytes[bytes.count / 2] ^= 1
        #expect(cookies.open(Base64URL.encode(bytes)) == nil)
        #expect(cookies.open("not a cookie") == nil)
    }

    @Test("a CSRF token belongs to one cookie value and one key")
    func csrf() {
        let value = PortalCookies.newCSRFValue()
        let token = cookies.csrfToken(for: value)
        #expect(cookies.isValidCSRFToken(token, for: value))
        #expect(!cookies.isValidCSRFToken(token, for: PortalCookies.newCSRFValue()))
        #expect(!cookies.isValidCSRFToken("", for: value))
        #expect(!PortalCookies(secret: SecureRandom.bytes(32)).isValidCSRFToken(token, for: value))
    }

    @Test("every cookie is __Host-: Secure, HttpOnly, SameSite=Strict, path /, no domain")
    func cookieFlags() {
        let header = PortalCookies.header(PortalCookies.session, "v")
        #expect(header == "__Host-cp-session=v; Path=/; Secure; HttpOnly; SameSite=Strict")
        #expect(PortalCookies.header(PortalCookies.csrf, "", maxAge: 0).hasSuffix("; Max-Age=0"))
    }

    @Test("form fields: percent-encoding, plus as space, bad encoding as empty, the last duplicate")
    func forms() {
        let fields = formFields("given=O%27Brien+%26+Co&x=%ZZ&empty=&given2=a&given2=b&flag")
        #expect(fields["given"] == "O'Brien & Co")
        #expect(fields["x"] == "")
        #expect(fields["empty"] == "")
        #expect(fields["given2"] == "b")
        #expect(fields["flag"] == "")
    }

    @Test("a service's 'field: problem' names the form's field, as a sentence")
    func fieldErrors() {
        #expect(
            PortalRoutes.fieldError("date_of_birth: not a date (YYYY-MM-DD)")
                == FieldError(field: "born", message: "Not a date (YYYY-MM-DD)"))
        #expect(PortalRoutes.fieldError("give a name") == FieldError(field: nil, message: "Give a name"))
    }

    @Test("an origin is https, a host and perhaps a port, nothing else")
    func origins() throws {
        #expect(try PortalSettings.origin("https://portal.example.gov.uk") == "https://portal.example.gov.uk")
        #expect(try PortalSettings.origin("https://localhost:8443") == "https://localhost:8443")
        for bad in ["http://localhost:8443", "https://localhost:8443/", "https://", "localhost", "https://a/b"] {
            #expect(throws: (any Error).self, "\(bad)") { try PortalSettings.origin(bad) }
        }
    }
}

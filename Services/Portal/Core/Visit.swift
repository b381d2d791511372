import Foundation
import GRPCCore
import Hummingbird

/// One request as the pages see it: who is signed in (from the session cookie), the CSRF value
/// this browser holds and the token its forms carry, and the cookies the response must set.
struct Visit: Sendable {
    var practitioner: SignedInPractitioner?
    var csrfValue: String
    var csrfToken: String
    var setCookies: [String] = []
    var sessionIdleSeconds: Int

    /// The signed-in practitioner, or a redirect to the sign-in page.
    func signedIn() throws -> SignedInPractitioner {
        guard let practitioner else { throw PageExit.redirect("/sign-in") }
        return practitioner
    }

    /// Call metadata carrying the practitioner's session.
    func metadata() throws -> Metadata {
        ["authorization": "Bearer \(try signedIn().token)"]
    }
}

/// How a page ends other than with its own HTML: caught by the route wrapper.
enum PageExit: Error {
    /// 303 See Other to a path of this portal.
    case redirect(String)
    /// A POST that did not come from this portal's own page: no Origin, another origin, or no
    /// valid CSRF token. Nothing was done.
    case forgedForm
    /// The request itself is wrong (a body too large, a malformed id).
    case badRequest(String)
}

/// `application/x-www-form-urlencoded` fields; a later duplicate wins; a field that is not valid
/// percent-encoding reads as empty.
func formFields(_ body: String) -> [String: String] {
    var fields: [String: String] = [:]
    for pair in body.split(separator: "&", omittingEmptySubsequences: true) {
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        func decode(_ text: Substring) -> String {
            text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
        }
        fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
    }
    return fields
}

import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import HTTPTypes
import Hummingbird
import Logging
import SecurityPrimitives
import Synchronization

/// The portal's routes. Each page is a `GET` that shows a form and a `POST` that acts on it
/// (state-changing and child-revealing requests are POSTs: nothing about a child goes in a URL
/// but its id). Every POST must come from this origin with the CSRF token of the browser's cookie.
final class PortalRoutes: Sendable {
    let settings: PortalSettings
    let cookies: PortalCookies
    let renderer: PageRenderer
    let client: GRPCClient<BusClientTransport>
    let logger: Logger

    /// Largest form accepted: the biggest (search) is under 1 KiB.
    static let maximumFormBytes = 16 * 1024

    init(
        settings: PortalSettings, cookies: PortalCookies, renderer: PageRenderer,
        client: GRPCClient<BusClientTransport>, logger: Logger
    ) {
        self.settings = settings
        self.cookies = cookies
        self.renderer = renderer
        self.client = client
        self.logger = logger
    }

    var identity: Contactpoint_V1_Identity.Client<BusClientTransport> { .init(wrapping: client) }
    var index: Contactpoint_V1_Index.Client<BusClientTransport> { .init(wrapping: client) }
    var notification: Contactpoint_V1_Notification.Client<BusClientTransport> { .init(wrapping: client) }

    func register(on router: Router<BasicRequestContext>) {
        router.get("/static/{file}") { _, context in try self.staticFile(context.parameters.require("file")) }
        router.get("/") { request, _ in
            await self.page(request) { visit in
                throw PageExit.redirect(visit.practitioner == nil ? "/sign-in" : "/home")
            }
        }
        router.get("/sign-in") { request, _ in await self.page(request) { try self.signInForm(request, &$0) } }
        router.post("/sign-in") { request, _ in await self.page(request) { try await self.signIn(request, &$0) } }
        router.post("/sign-in/passkey") { request, _ in
            await self.page(request) { try await self.signInWithPasskey(request, &$0) }
        }
        router.get("/account/passkeys") { request, _ in
            await self.page(request) { try await self.passkeys(request, &$0) }
        }
        router.post("/account/passkeys/new") { request, _ in
            await self.page(request) { try await self.beginPasskey(request, &$0) }
        }
        router.post("/account/passkeys/complete") { request, _ in
            await self.page(request) { try await self.completePasskey(request, &$0) }
        }
        router.get("/account/passkeys/remove") { request, _ in
            await self.page(request) { try await self.removePasskeyForm(request, &$0) }
        }
        router.post("/account/passkeys/remove") { request, _ in
            await self.page(request) { try await self.removePasskey(request, &$0) }
        }
        router.post("/sign-out") { request, _ in await self.page(request) { try await self.signOut(request, &$0) } }
        router.post("/stay-signed-in") { request, _ in
            await self.page(request) { try await self.staySignedIn(request, &$0) }
        }
        router.get("/home") { request, _ in await self.page(request) { try self.home(&$0) } }
        router.get("/search") { request, _ in await self.page(request) { try self.searchForm(&$0) } }
        router.post("/search") { request, _ in await self.page(request) { try await self.search(request, &$0) } }
        router.get("/children/{id}") { request, context in
            await self.page(request) { try self.recordReasonForm(try Self.childID(context), &$0) }
        }
        router.post("/children/{id}") { request, context in
            await self.page(request) { try await self.record(request, try Self.childID(context), &$0) }
        }
        router.get("/alerts") { request, _ in await self.page(request) { try await self.alerts(request, &$0) } }
        router.post("/alerts/{id}") { request, context in
            await self.page(request) { try await self.updateAlert(request, try context.parameters.require("id"), &$0) }
        }
        router.get("/alerts/events") { request, _ in await self.page(request) { try self.alertEvents(request, $0) } }
    }

    // MARK: Sign-in and out

    func signInForm(_ request: Request, _ visit: inout Visit) throws -> Response {
        if visit.practitioner != nil { throw PageExit.redirect("/home") }
        var page = Page(title: "Sign in")
        switch request.uri.queryParameters.get("ended") {
        case "idle": page.notice = "You were signed out because you did nothing for a while. Sign in again."
        case "session": page.notice = "Your session has ended. Sign in again."
        case "signed-out": page.notice = "You have signed out."
        default: break
        }
        return html("sign-in", page, visit)
    }

    func signIn(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let form = try await acceptedForm(request, visit)
        let email = form["email", default: ""].trimmingCharacters(in: .whitespaces)
        var page = Page(title: "Sign in", fields: ["email": email])
        if email.isEmpty { page.errors.append(FieldError(field: "email", message: "Enter your email address")) }
        if form["password", default: ""].isEmpty {
            page.errors.append(FieldError(field: "password", message: "Enter your password"))
        }
        let withPasskey = form["method"] == "passkey"
        if !withPasskey, form["code", default: ""].isEmpty {
            page.errors.append(FieldError(field: "code", message: "Enter the code from your authenticator app"))
        }
        if !page.errors.isEmpty { return html("sign-in", page, visit, status: .badRequest) }
        do {
            if withPasskey {
                let challenge = try await identity.beginPasskeyLogin(
                    .with {
                        $0.email = email
                        $0.password = form["password", default: ""]
                    })
                return html("passkey-sign-in", PasskeyPages.assertion(challenge), visit)
            }
            let grant = try await identity.login(
                .with {
                    $0.email = email
                    $0.password = form["password", default: ""]
                    $0.totpCode = form["code", default: ""].trimmingCharacters(in: .whitespaces)
                })
            return try await finishSignIn(grant, &visit)
        } catch let error as RPCError where error.code != .unavailable && error.code != .deadlineExceeded {
            page.errors.append(FieldError(field: "email", message: Self.sentence(error.message)))
            return html("sign-in", page, visit, status: error.code == .resourceExhausted ? .tooManyRequests : .ok)
        }
    }

    /// The passkey's assertion, as the sign-in page's script posts it.
    func signInWithPasskey(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let form = try await acceptedForm(request, visit)
        let grant: Contactpoint_V1_SessionGrant
        do {
            grant = try await identity.completePasskeyLogin(
                .with {
                    $0.challengeID = form["challenge-id", default: ""]
                    $0.credentialID = Self.bytes(form["credential-id"])
                    $0.clientDataJson = Self.bytes(form["client-data-json"])
                    $0.authenticatorData = Self.bytes(form["authenticator-data"])
                    $0.signature = Self.bytes(form["signature"])
                })
        } catch let error as RPCError where error.code == .unauthenticated || error.code == .permissionDenied {
            var page = Page(title: "Sign in")
            page.errors.append(
                FieldError(field: "email", message: "The passkey was not accepted. \(Self.sentence(error.message))"))
            return html("sign-in", page, visit, status: .unauthorized)
        }
        return try await finishSignIn(grant, &visit)
    }

    /// A session granted: who it is for goes into the sealed cookie, with a new CSRF value.
    func finishSignIn(_ grant: Contactpoint_V1_SessionGrant, _ visit: inout Visit) async throws -> Response {
        let me = try await identity.whoAmI(.init(), metadata: ["authorization": "Bearer \(grant.token)"])
        let practitioner = SignedInPractitioner(
            token: grant.token, practitionerID: me.practitionerID, name: me.name,
            organisationName: me.organisationName, roles: me.roles,
            previousSessionStartedAt: grant.previousSessionStartedAt, failedAttemptsSince: grant.failedAttemptsSince)
        visit.setCookies.append(PortalCookies.header(PortalCookies.session, try cookies.seal(practitioner)))
        // A new CSRF value with the new session: one planted before sign-in is worth nothing after.
        visit.setCookies.append(PortalCookies.header(PortalCookies.csrf, PortalCookies.newCSRFValue()))
        throw PageExit.redirect("/home")
    }

    func signOut(_ request: Request, _ visit: inout Visit) async throws -> Response {
        _ = try await acceptedForm(request, visit)
        if let metadata = try? visit.metadata() {
            _ = try? await identity.logout(.init(), metadata: metadata)
        }
        visit.setCookies += [
            PortalCookies.header(PortalCookies.session, "", maxAge: 0),
            PortalCookies.header(PortalCookies.csrf, PortalCookies.newCSRFValue()),
        ]
        throw PageExit.redirect("/sign-in?ended=signed-out")
    }

    /// The idle warning's button: a call to identity marks the session used (its idle clock starts
    /// again) and the token is exchanged for a fresh one. 204: the browser stays on its page, with
    /// whatever was typed into it.
    func staySignedIn(_ request: Request, _ visit: inout Visit) async throws -> Response {
        _ = try await acceptedForm(request, visit)
        var practitioner = try visit.signedIn()
        let grant = try await identity.refresh(.init(), metadata: try visit.metadata())
        practitioner.token = grant.token
        visit.setCookies.append(PortalCookies.header(PortalCookies.session, try cookies.seal(practitioner)))
        return Response(status: .noContent)
    }

    func home(_ visit: inout Visit) throws -> Response {
        let practitioner = try visit.signedIn()
        var fields: [String: Any] = [
            "previousSession": practitioner.previousSessionStartedAt == 0
                ? "This is your first session."
                : "Your previous session started \(Self.formatTime(seconds: practitioner.previousSessionStartedAt))."
        ]
        if practitioner.failedAttemptsSince > 0 {
            let attempts =
                practitioner.failedAttemptsSince == 1
                ? "1 failed sign-in attempt" : "\(practitioner.failedAttemptsSince) failed sign-in attempts"
            fields["failedAttempts"] = "\(attempts) since then. If they were not yours, tell your administrator."
        }
        return html("home", Page(title: "Home", fields: fields), visit)
    }

    // MARK: Search and records

    func searchForm(_ visit: inout Visit) throws -> Response {
        _ = try visit.signedIn()
        return html(
            "search", Page(title: "Find a child", fields: ReasonChoice.fields(), navigation: "navSearch"), visit)
    }

    func search(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let form = try await acceptedForm(request, visit)
        let metadata = try visit.metadata()
        var fields = ReasonChoice.fields(selected: form["reason"], text: form["reason-text"])
        for name in ["given", "family", "born", "postcode"] { fields[name] = form[name, default: ""] }
        var page = Page(title: "Find a child", fields: fields, navigation: "navSearch")
        guard let reason = ReasonChoice.reason(form, &page) else {
            return html("search", page, visit, status: .badRequest)
        }
        let request = Contactpoint_V1_SearchChildrenRequest.with {
            $0.reason = reason
            $0.givenName = form["given", default: ""]
            $0.familyName = form["family", default: ""]
            $0.dateOfBirth = form["born", default: ""]
            $0.postcode = form["postcode", default: ""]
        }
        let found: Contactpoint_V1_SearchChildrenResponse
        do {
            found = try await index.searchChildren(request, metadata: metadata)
        } catch let error as RPCError where error.code == .invalidArgument {
            page.errors.append(Self.fieldError(error.message))
            return html("search", page, visit, status: .badRequest)
        }
        page.fields["searched"] = true
        page.fields["hasMatches"] = !found.matches.isEmpty
        page.fields["moreMatches"] = found.moreMatches
        page.fields["resultsHeading"] =
            found.matches.isEmpty
            ? "No child matches" : found.matches.count == 1 ? "1 child found" : "\(found.matches.count) children found"
        page.fields["matches"] = found.matches.map { match -> [String: Any] in
            [
                "childID": match.childID, "name": "\(match.givenName) \(match.familyName)", "born": match.dateOfBirth,
                "gender": Labels.gender(match.gender), "localAuthority": match.localAuthority,
                "district": match.postcodeDistrict,
            ]
        }
        return html("search", page, visit)
    }

    func recordReasonForm(_ childID: String, _ visit: inout Visit) throws -> Response {
        _ = try visit.signedIn()
        var fields = ReasonChoice.fields()
        fields["childID"] = childID
        return html(
            "record-reason", Page(title: "Open a child's record", fields: fields, navigation: "navSearch"), visit)
    }

    func record(_ request: Request, _ childID: String, _ visit: inout Visit) async throws -> Response {
        let form = try await acceptedForm(request, visit)
        let metadata = try visit.metadata()
        var fields = ReasonChoice.fields(selected: form["reason"], text: form["reason-text"])
        fields["childID"] = childID
        var page = Page(title: "Open a child's record", fields: fields, navigation: "navSearch")
        guard let reason = ReasonChoice.reason(form, &page) else {
            return html("record-reason", page, visit, status: .badRequest)
        }
        let record: Contactpoint_V1_ChildRecord
        do {
            record = try await index.viewRecord(
                .with {
                    $0.reason = reason
                    $0.childID = childID
                }, metadata: metadata)
        } catch let error as RPCError where error.code == .invalidArgument || error.code == .notFound {
            page.errors.append(
                error.code == .notFound
                    ? FieldError(field: nil, message: "No child has the ContactPoint ID \(childID)")
                    : Self.fieldError(error.message))
            return html("record-reason", page, visit, status: error.code == .notFound ? .notFound : .badRequest)
        }
        return html("record", RecordPage.page(record), visit)
    }

    // MARK: The route wrapper

    /// Runs a page: reads the visit from the cookies (renewing the session token once half its
    /// life is gone), turns the page's exits and the services' refusals into responses, and sets
    /// the visit's cookies on whatever is returned.
    func page(_ request: Request, _ body: (inout Visit) async throws -> Response) async -> Response {
        var visit = await self.visit(request)
        var response: Response
        do {
            response = try await body(&visit)
        } catch PageExit.redirect(let path) {
            response = Response.redirect(to: path, type: .normal)
        } catch PageExit.forgedForm {
            response = problem(
                "This form has expired",
                "Nothing was changed. Go back, reload the page and try again.", next: "/", visit, status: .forbidden)
        } catch PageExit.badRequest(let reason) {
            response = problem("There is a problem with the request", reason, next: "/", visit, status: .badRequest)
        } catch let error as RPCError {
            switch error.code {
            case .unauthenticated:
                // The session ended at identity (idle, logout elsewhere, suspension).
                visit.setCookies.append(PortalCookies.header(PortalCookies.session, "", maxAge: 0))
                response = Response.redirect(to: "/sign-in?ended=session", type: .normal)
            case .permissionDenied:
                response = problem(
                    "You cannot do that", Self.sentence(error.message), next: "/home", visit, status: .forbidden)
            case .notFound:
                response = problem(
                    "Not found", Self.sentence(error.message), next: "/home", visit, status: .notFound)
            case .invalidArgument, .failedPrecondition, .alreadyExists:
                response = problem(
                    "That could not be done", Self.sentence(error.message), next: "/home", visit,
                    status: .badRequest)
            case .resourceExhausted:
                response = problem(
                    "Too many requests", Self.sentence(error.message), next: "/home", visit, status: .tooManyRequests)
            case .unavailable, .deadlineExceeded:
                response = problem(
                    "Sorry, ContactPoint is not available right now",
                    "Nothing was changed. Try again in a few minutes.", next: "/home", visit,
                    status: .serviceUnavailable
                )
            default:
                logger.error("a call failed", metadata: ["code": "\(error.code)"])
                response = problem(
                    "Sorry, something went wrong", "Nothing was changed. Try again.", next: "/home", visit,
                    status: .internalServerError)
            }
        } catch {
            // Never the error's text: it may carry what was sent.
            logger.error("a page failed", metadata: ["error.type": "\(type(of: error))"])
            response = problem(
                "Sorry, something went wrong", "Try again.", next: "/home", visit, status: .internalServerError)
        }
        for cookie in visit.setCookies { response.headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return response
    }

    func visit(_ request: Request) async -> Visit {
        var setCookies: [String] = []
        let csrfValue: String
        if let value = request.cookies[PortalCookies.csrf]?.value, value.count == 43 {
            csrfValue = value
        } else {
            csrfValue = PortalCookies.newCSRFValue()
            setCookies.append(PortalCookies.header(PortalCookies.csrf, csrfValue))
        }
        var practitioner = request.cookies[PortalCookies.session].flatMap { cookies.open($0.value) }
        if var current = practitioner, let life = current.tokenLifetime {
            let now = Int64(Date().timeIntervalSince1970)
            if now >= life.expiresAt {
                practitioner = nil
                setCookies.append(PortalCookies.header(PortalCookies.session, "", maxAge: 0))
            } else if now - life.issuedAt >= (life.expiresAt - life.issuedAt) / 2,
                let grant = try? await identity.refresh(
                    .init(), metadata: ["authorization": "Bearer \(current.token)"]),
                let sealed = try? cookies.seal(
                    {
                        current.token = grant.token
                        return current
                    }())
            {
                practitioner = current
                setCookies.append(PortalCookies.header(PortalCookies.session, sealed))
            }
        }
        return Visit(
            practitioner: practitioner, csrfValue: csrfValue, csrfToken: cookies.csrfToken(for: csrfValue),
            setCookies: setCookies, sessionIdleSeconds: Int(settings.sessionIdle.components.seconds))
    }

    /// The fields of a POSTed form, once it is shown to come from this portal: the browser says
    /// it comes from this origin, and the form's CSRF token matches the browser's cookie.
    ///
    /// Under `Referrer-Policy: no-referrer` browsers send a form's `Origin` as `null`; then the
    /// Fetch Metadata header `Sec-Fetch-Site: same-origin` must say so instead. Any other origin,
    /// or neither, is refused.
    func acceptedForm(_ request: Request, _ visit: Visit) async throws -> [String: String] {
        let origin = request.headers[.origin]
        let sameOrigin =
            origin == settings.origin
            || ((origin == nil || origin == "null")
                && request.headers[HTTPField.Name("Sec-Fetch-Site")!] == "same-origin")
        guard sameOrigin else { throw PageExit.forgedForm }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maximumFormBytes)
        } catch {
            throw PageExit.badRequest("The form sent is too large.")
        }
        let form = formFields(String(buffer: body))
        guard request.cookies[PortalCookies.csrf]?.value == visit.csrfValue,
            cookies.isValidCSRFToken(form["csrf", default: ""], for: visit.csrfValue)
        else { throw PageExit.forgedForm }
        return form
    }

    // MARK: Responses

    func html(_ template: String, _ page: Page, _ visit: Visit, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: renderer.html(template, page, visit: visit))))
    }

    func problem(
        _ heading: String, _ explanation: String, next: String, _ visit: Visit, status: HTTPResponse.Status
    ) -> Response {
        let page = Page(
            title: heading,
            fields: [
                "heading": heading, "explanation": explanation, "next": next,
                "nextLabel": next == "/" ? "Go to the start" : "Go to your home page",
            ])
        return html("problem", page, visit, status: status)
    }

    func staticFile(_ name: String) throws -> Response {
        guard let file = renderer.staticFiles[name] else { throw HTTPError(.notFound) }
        return Response(
            status: .ok, headers: [.contentType: file.contentType, .cacheControl: "public, max-age=300"],
            body: .init(byteBuffer: file.body))
    }

    // MARK: Helpers

    /// A ContactPoint ID as a path segment: letters, digits and hyphens only, so that nothing
    /// else is ever echoed from a URL.
    static func childID(_ context: BasicRequestContext) throws -> String {
        let id = try context.parameters.require("id")
        guard (1...64).contains(id.count), id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
        else { throw PageExit.badRequest("That is not a ContactPoint ID.") }
        return id
    }

    /// The form field a service's "field: problem" message is about, by the form's own names.
    static func fieldError(_ message: String) -> FieldError {
        let fieldsByName = [
            "given_name": "given", "family_name": "family", "date_of_birth": "born", "postcode": "postcode",
            "reason.code": "reason-contact-practitioners", "reason.text": "reason-text",
        ]
        if let colon = message.firstIndex(of: ":"), let field = fieldsByName[String(message[..<colon])] {
            let problem = message[message.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            return FieldError(field: field, message: sentence(problem))
        }
        return FieldError(field: nil, message: sentence(message))
    }

    /// A base64url form field as bytes (empty for one missing or malformed: the service refuses it).
    static func bytes(_ field: String?) -> Data {
        Data(Base64URL.decode(field ?? "") ?? [])
    }

    /// A service's message as a sentence: capital first letter.
    static func sentence(_ message: String) -> String {
        message.prefix(1).uppercased() + message.dropFirst()
    }

    static func formatTime(seconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_GB")
        formatter.timeZone = TimeZone(identifier: "Europe/London")
        formatter.dateFormat = "d MMMM yyyy 'at' h:mma"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}

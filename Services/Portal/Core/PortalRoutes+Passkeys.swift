import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import Hummingbird
import SecurityPrimitives

/// The passkey pages: the list, adding one (a code, then the browser's ceremony) and removing one.
extension PortalRoutes {
    func passkeys(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let list = try await identity.listPasskeys(.init(), metadata: try visit.metadata())
        var page = PasskeyPages.list(list.passkeys)
        if request.uri.queryParameters.get("added") != nil { page.notice = "Your passkey was added." }
        if request.uri.queryParameters.get("removed") != nil { page.notice = "The passkey was removed." }
        return html("passkeys", page, visit)
    }

    /// Adding a passkey: the code proves it is the practitioner (a step-up, which renews the
    /// session's token), then the creation page.
    func beginPasskey(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let form = try await acceptedForm(request, visit)
        let name = form["passkey-name", default: ""].trimmingCharacters(in: .whitespaces)
        let list = try await identity.listPasskeys(.init(), metadata: try visit.metadata())
        var page = PasskeyPages.list(list.passkeys)
        page.fields["passkeyName"] = name
        if !(1...60).contains(name.count) {
            page.errors.append(
                FieldError(field: "passkey-name", message: "Give the passkey a name of 1 to 60 characters"))
        }
        if form["code", default: ""].isEmpty {
            page.errors.append(FieldError(field: "step-up-code", message: "Enter the code from your authenticator app"))
        }
        if !page.errors.isEmpty { return html("passkeys", page, visit, status: .badRequest) }
        if let refused = try await stepUp(form["code", default: ""], &visit) {
            page.errors.append(refused)
            return html("passkeys", page, visit, status: .badRequest)
        }
        let challenge = try await identity.beginPasskeyRegistration(.init(), metadata: try visit.metadata())
        return html("passkey-create", PasskeyPages.creation(challenge, name: name), visit)
    }

    func completePasskey(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let form = try await acceptedForm(request, visit)
        do {
            _ = try await identity.completePasskeyRegistration(
                .with {
                    $0.challengeID = form["challenge-id", default: ""]
                    $0.clientDataJson = Self.bytes(form["client-data-json"])
                    $0.attestationObject = Self.bytes(form["attestation-object"])
                    $0.name = form["passkey-name", default: ""]
                }, metadata: try visit.metadata())
        } catch let error as RPCError where error.code == .invalidArgument || error.code == .alreadyExists {
            let list = try await identity.listPasskeys(.init(), metadata: try visit.metadata())
            var page = PasskeyPages.list(list.passkeys)
            page.errors.append(FieldError(field: nil, message: Self.sentence(error.message)))
            return html("passkeys", page, visit, status: .badRequest)
        }
        throw PageExit.redirect("/account/passkeys?added=1")
    }

    func removePasskeyForm(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let id = request.uri.queryParameters.get("id").map { String($0) } ?? ""
        let list = try await identity.listPasskeys(.init(), metadata: try visit.metadata())
        guard let passkey = list.passkeys.first(where: { Base64URL.encode(Array($0.credentialID)) == id }) else {
            throw PageExit.redirect("/account/passkeys")
        }
        return html(
            "passkey-remove",
            Page(title: "Remove a passkey", fields: ["id": id, "name": passkey.name], navigation: "navAccount"), visit)
    }

    /// Removing a passkey: the code first (a step-up), as for adding one.
    func removePasskey(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let form = try await acceptedForm(request, visit)
        let id = form["id", default: ""]
        let list = try await identity.listPasskeys(.init(), metadata: try visit.metadata())
        guard let passkey = list.passkeys.first(where: { Base64URL.encode(Array($0.credentialID)) == id }) else {
            throw PageExit.redirect("/account/passkeys")
        }
        var page = Page(title: "Remove a passkey", fields: ["id": id, "name": passkey.name], navigation: "navAccount")
        if let refused = try await stepUp(form["code", default: ""], &visit) {
            page.errors.append(refused)
            return html("passkey-remove", page, visit, status: .badRequest)
        }
        _ = try await identity.removePasskey(
            .with { $0.credentialID = passkey.credentialID }, metadata: try visit.metadata())
        throw PageExit.redirect("/account/passkeys?removed=1")
    }

    /// Proves a fresh code (a step-up) and keeps the renewed token; the code's refusal as the
    /// form's error, or `nil`.
    func stepUp(_ code: String, _ visit: inout Visit) async throws -> FieldError? {
        var practitioner = try visit.signedIn()
        do {
            let grant = try await identity.stepUp(
                .with { $0.totpCode = code.trimmingCharacters(in: .whitespaces) }, metadata: try visit.metadata())
            practitioner.token = grant.token
            visit.practitioner = practitioner
            visit.setCookies.append(PortalCookies.header(PortalCookies.session, try cookies.seal(practitioner)))
            return nil
        } catch let error as RPCError where error.code == .unauthenticated && !error.message.hasPrefix("the session") {
            return FieldError(field: "step-up-code", message: Self.sentence(error.message))
        }
    }
}

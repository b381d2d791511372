import Foundation
import Hummingbird
import Mustache

/// The portal's pages: Mustache templates (HTML-escaped by default, apostrophes included) inside
/// one layout, and the static files, all loaded from the package's resources at start.
struct PageRenderer: Sendable {
    private let library: MustacheLibrary
    let staticFiles: [String: (contentType: String, body: ByteBuffer)]

    init() async throws {
        guard let templates = Bundle.module.url(forResource: "Templates", withExtension: nil),
            let statics = Bundle.module.url(forResource: "Static", withExtension: nil)
        else { throw PortalStartError("the portal's templates are missing from its resources") }
        library = try await MustacheLibrary(directory: templates.path)
        var files: [String: (String, ByteBuffer)] = [:]
        for (name, type) in [
            ("portal.css", "text/css; charset=utf-8"), ("portal.js", "text/javascript; charset=utf-8"),
        ] {
            let data = try Data(contentsOf: statics.appendingPathComponent(name))
            files[name] = (type, ByteBuffer(bytes: data))
        }
        staticFiles = files
    }

    /// The HTML of `template` for `page`, inside the layout with `visit`'s header.
    func html(_ template: String, _ page: Page, visit: Visit) -> String {
        var context = page.fields
        context["title"] = page.title
        context["csrf"] = visit.csrfToken
        context["errors"] = page.errors.map { ["field": $0.field as Any, "message": $0.message] }
        context["hasErrors"] = !page.errors.isEmpty
        context["notice"] = page.notice
        for error in page.errors { if let field = error.field { context["\(field)Error"] = error.message } }
        if let practitioner = visit.practitioner {
            context["signedIn"] = true
            context["practitionerName"] = practitioner.name
            context["organisationName"] = practitioner.organisationName
            context["sessionIdleSeconds"] = visit.sessionIdleSeconds
        }
        context[page.navigation] = true
        guard let html = library.render(context, withTemplate: template) else {
            preconditionFailure("no template named \(template)")
        }
        return html
    }
}

/// What one page shows: its title, its own fields for its template, and what went wrong.
struct Page {
    var title: String
    var fields: [String: Any] = [:]
    var errors: [FieldError] = []
    var notice: String?
    /// Which menu item is this page's (`navSearch`, `navAlerts`).
    var navigation = "navNone"

    init(title: String, fields: [String: Any] = [:], navigation: String = "navNone") {
        self.title = title
        self.fields = fields
        self.navigation = navigation
    }
}

/// A problem with what was sent: the form field it is about (its element id, for the error
/// summary's link), or none for the form as a whole.
struct FieldError: Equatable {
    var field: String?
    var message: String
}

struct PortalStartError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

public import BusTransport
import ContactPointAPI
import DurableFiles
import Foundation
public import GRPCCore
import HTTPTypes
public import Hummingbird
import HummingbirdTLS
public import Logging
import NIOSSL
import SecurityPrimitives
import ServiceRuntime

/// The portal: an HTTPS server whose pages call the same RPCs as the command-line client, each
/// with the signed-in practitioner's session, so that the services decide who may see and do
/// what, and audit it. It keeps no state of its own: every instance with the same cookie key
/// serves every browser.
public enum PortalServer {
    /// The application, ready to run: its server, and the bus client's connections as a service
    /// beside it. `onListening` is given the port bound (useful with port 0).
    public static func makeApplication(
        settings: PortalSettings, client: GRPCClient<BusClientTransport>, logger: Logger,
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) async throws -> some ApplicationProtocol {
        let tls = try tlsConfiguration(settings)
        try DurableFile.createDirectory(settings.secretsDirectory, mode: 0o700)
        let secret = try SecretFile.readOrCreate("\(settings.secretsDirectory)/portal-cookie.key")
        let routes = PortalRoutes(
            settings: settings, cookies: PortalCookies(secret: secret), renderer: try await PageRenderer(),
            client: client, logger: logger)
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: SecurityHeadersMiddleware())
        routes.register(on: router)
        return Application(
            router: router, server: try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: nil),
            services: [ClientConnections(client: client)] + (SupervisorWatch().map { [$0] } ?? []),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? settings.port) },
            logger: logger)
    }

    /// TLS 1.2 and 1.3 with the configured certificate, first made self-signed for the origin's
    /// host when `create-certificate` is set and there is none.
    static func tlsConfiguration(_ settings: PortalSettings) throws -> TLSConfiguration {
        let manager = FileManager.default
        if settings.createCertificate,
            !manager.fileExists(atPath: settings.certificateFile)
                || !manager.fileExists(atPath: settings.privateKeyFile)
        {
            let made = try SelfSignedCertificate.generate(hostNames: [settings.originHost])
            // The key first: a certificate without its key would not be made again.
            try DurableFile.write(made.privateKeyPEM, to: settings.privateKeyFile, mode: 0o600)
            try DurableFile.write(made.certificatePEM, to: settings.certificateFile, mode: 0o644)
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(settings.certificateFile).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: settings.privateKeyFile, format: .pem)))
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }
}

/// Headers on every response (docs/PORTAL.md): a Content-Security-Policy allowing this origin's
/// own script and style and nothing inline, no framing, HSTS, no sniffing, no referrer, and no
/// caching of anything but the static files (pages show children).
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var policy: String {
        """
        default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
        form-action 'self'; frame-ancestors 'none'; base-uri 'none'
        """
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        response.headers[HTTPField.Name("Content-Security-Policy")!] = Self.policy
        response.headers[HTTPField.Name("Strict-Transport-Security")!] = "max-age=31536000; includeSubDomains"
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[HTTPField.Name("Cross-Origin-Opener-Policy")!] = "same-origin"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

/// The calls the portal makes that may be retried on another instance when the one serving
/// them died (UNAVAILABLE): reads only. A read of a child made twice is audited twice, which
/// is the truth.
public enum PortalCalls {
    public static let retryable: [MethodDescriptor] = [
        Contactpoint_V1_Index.Method.SearchChildren.descriptor, Contactpoint_V1_Index.Method.ViewRecord.descriptor,
        Contactpoint_V1_Notification.Method.ListAlerts.descriptor,
        Contactpoint_V1_Identity.Method.WhoAmI.descriptor,
    ]
}

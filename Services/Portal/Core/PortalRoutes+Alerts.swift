import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import Hummingbird
import SecurityPrimitives
import Synchronization

/// The alerts pages: the inbox, moving an alert on, and new alerts as server-sent events.
extension PortalRoutes {
    func alerts(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let metadata = try visit.metadata()
        let organisation = request.uri.queryParameters.get("inbox") == "organisation"
        let list = try await notification.listAlerts(
            .with {
                $0.organisation = organisation
                $0.pageSize = 100
            }, metadata: metadata)
        let fields: [String: Any] = [
            "mine": !organisation, "inbox": organisation ? "organisation" : "mine",
            "alerts": list.alerts.reversed().map(AlertRow.fields),
            "after": "\(list.alerts.map { $0.sequence }.max() ?? 0)",
        ]
        return html("alerts", Page(title: "Alerts", fields: fields, navigation: "navAlerts"), visit)
    }

    /// Acknowledged, or contact made: the alert's state at the notification service, which decides
    /// whose alert may be moved.
    func updateAlert(_ request: Request, _ alertID: String, _ visit: inout Visit) async throws -> Response {
        let form = try await acceptedForm(request, visit)
        let state: Contactpoint_V1_AlertState
        switch form["state"] {
        case "acknowledged": state = .acknowledged
        case "contact-made": state = .contactMade
        default: throw PageExit.badRequest("That is not a state an alert can be moved to.")
        }
        _ = try await notification.updateAlert(
            .with {
                $0.alertID = alertID
                $0.state = state
            }, metadata: try visit.metadata())
        throw PageExit.redirect(form["inbox"] == "organisation" ? "/alerts?inbox=organisation" : "/alerts")
    }

    /// New alerts as server-sent events (`event: alert`, the row's fields as JSON), for the
    /// alerts page's script: the notification service's own subscription with the practitioner's
    /// session, resumed from the page's last alert, renewed when the service ends it, until the
    /// page goes.
    func alertEvents(_ request: Request, _ visit: Visit) throws -> Response {
        let metadata = try visit.metadata()
        let organisation = request.uri.queryParameters.get("inbox") == "organisation"
        let start = request.uri.queryParameters.get("after").flatMap { UInt64($0) } ?? 0
        let notification = self.notification
        let body = ResponseBody { writer in
            // A comment line at once, so the browser knows the stream is open.
            try await writer.write(ByteBuffer(string: ": following\n\n"))
            let (alerts, sink) = AsyncStream<Contactpoint_V1_Alert>.makeStream(bufferingPolicy: .bufferingNewest(100))
            try await withThrowingTaskGroup { group in
                group.addTask {
                    defer { sink.finish() }
                    let cursor = Mutex(start)
                    while !Task.isCancelled {
                        do {
                            try await notification.subscribe(
                                .with {
                                    $0.after = cursor.withLock { $0 }
                                    $0.organisation = organisation
                                }, metadata: metadata
                            ) { response in
                                for try await alert in response.messages {
                                    cursor.withLock { $0 = max($0, alert.sequence) }
                                    sink.yield(alert)
                                }
                            }
                        } catch let error as RPCError
                            where error.code == .unauthenticated || error.code == .permissionDenied
                        {
                            return
                        } catch is RPCError {
                            try await Task.sleep(for: .seconds(1))
                        }
                    }
                }
                // Ends with an error when the page has gone, which ends the subscription.
                for await alert in alerts {
                    let json = try JSONSerialization.data(withJSONObject: AlertRow.fields(alert))
                    try await writer.write(
                        ByteBuffer(string: "event: alert\ndata: \(String(decoding: json, as: UTF8.self))\n\n"))
                }
                group.cancelAll()
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: body)
    }
}

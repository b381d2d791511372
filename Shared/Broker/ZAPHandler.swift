public import ZeroMQ

/// Answers ZeroMQ Authentication Protocol requests (ZeroMQ RFC 27) for the broker's CURVE sockets.
///
/// libzmq sends a request for every connection handshake on a socket with a ZAP domain; the
/// reply's user id becomes the `User-Id` property of every message on that connection, which is
/// how the broker knows — and stamps into headers — who sent a request.
public struct ZAPHandler: Sendable {
    public static let endpoint = "inproc://zeromq.zap.01"

    public let domain: String
    public let allowList: AllowList
    /// Agency gateways admitted from the identity service's registry, after the static list.
    public let gateways: GatewayAdmissions?

    public init(domain: String, allowList: AllowList, gateways: GatewayAdmissions? = nil) {
        self.domain = domain
        self.allowList = allowList
        self.gateways = gateways
    }

    public enum Decision: Hashable, Sendable {
        case allowed(principal: String)
        case denied(reason: String)
    }

    /// Decides one request and returns the reply frames (nil for a message that is not a ZAP
    /// request at all, which the REP socket cannot answer meaningfully).
    public func reply(to request: Multipart) -> (frames: [[UInt8]], decision: Decision)? {
        guard request.count >= 6, request[0] == Array("1.0".utf8) else { return nil }
        let requestID = request[1]
        let decision = decide(request)
        let frames: [[UInt8]] =
            switch decision {
            case .allowed(let principal):
                [Array("1.0".utf8), requestID, Array("200".utf8), Array("OK".utf8), Array(principal.utf8), []]
            case .denied(let reason): [Array("1.0".utf8), requestID, Array("400".utf8), Array(reason.utf8), [], []]
            }
        return (frames, decision)
    }

    private func decide(_ request: Multipart) -> Decision {
        guard String(frame: request[2]) == domain else { return .denied(reason: "unknown domain") }
        guard String(frame: request[5]) == "CURVE", request.count == 7 else {
            return .denied(reason: "CURVE required")
        }
        guard let key = try? CurveKey(bytes: request[6]) else { return .denied(reason: "not a CURVE key") }
        if let entry = allowList.entry(for: key) { return .allowed(principal: entry.principal) }
        if let gateway = gateways?.principal(for: key) { return .allowed(principal: gateway) }
        return .denied(reason: "key not on the allow-list")
    }
}

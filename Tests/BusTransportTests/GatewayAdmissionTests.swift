import Broker
import BusProtocol
import ContactPointAPI
import GRPCCore
import Testing
import ZeroMQ

/// Agency gateways beside the static allow-list: admitted from the registry the broker reads,
/// refused once revoked — at the handshake and on connections already open.
@Suite("Gateway admissions")
struct GatewayAdmissionTests {
    @Test("a static allow-list may not give a gateway's principal: only the registry does")
    func reservedPrefix() throws {
        let key = try CurveKeyPair.generate().publicKey.z85
        #expect(throws: AllowListError.reservedPrincipal("gateway:org-1:gw-1")) {
            try AllowList(parsing: "gateway:org-1:gw-1 \(key)")
        }
        #expect(try AllowList(parsing: "gateways-team \(key)").count == 1)
    }

    @Test("the ZAP handler admits a registered key under its gateway principal, until it is revoked")
    func zapAdmitsRegistered() throws {
        let gateway = try CurveKeyPair.generate().publicKey
        let admissions = GatewayAdmissions()
        let handler = ZAPHandler(domain: "contactpoint", allowList: try AllowList([]), gateways: admissions)
        let request: (CurveKey) -> Multipart = { key in
            Multipart([
                Array("1.0".utf8), [7], Array("contactpoint".utf8), Array("127.0.0.1".utf8), [], Array("CURVE".utf8),
                key.bytes,
            ])
        }
        #expect(handler.reply(to: request(gateway))?.decision == .denied(reason: "key not on the allow-list"))
        admissions.update([(principal: "gateway:org-1:gw-1", publicKey: gateway)])
        #expect(handler.reply(to: request(gateway))?.decision == .allowed(principal: "gateway:org-1:gw-1"))
        admissions.update([])
        #expect(handler.reply(to: request(gateway))?.decision == .denied(reason: "key not on the allow-list"))
    }

    @Test("a revoked gateway's request on a connection already open is answered UNAUTHENTICATED, never dispatched")
    func revokedOnOpenConnection() throws {
        let admissions = GatewayAdmissions()
        admissions.update([(principal: "gateway:org-1:gw-1", publicKey: try CurveKeyPair.generate().publicKey)])
        var core = BrokerCore(
            now: .now, mayServe: { principal, _ in principal == "worker" }, mayCall: admissions.mayCall)
        var actions: [BrokerCore.Action] = []
        core.receive(
            [[1]] + Majordomo.WorkerCommand.ready(service: "contactpoint.v1.Echo").frames, peer: "worker", now: .now,
            into: &actions)
        let request = { (callID: UInt64) -> [[UInt8]] in
            let header = Contactpoint_V1_RequestHeader.with {
                $0.callID = callID
                $0.method = "/contactpoint.v1.Echo/Get"
            }
            return [[9]]
                + Majordomo.ClientCommand.request(service: "contactpoint.v1.Echo", body: [Envelope.encode(header), []])
                .frames
        }
        actions.removeAll()
        core.receive(request(1), peer: "gateway:org-1:gw-1", now: .now, into: &actions)
        #expect(core.callsInFlight == 1, "in force: dispatched")

        admissions.update([])
        actions.removeAll()
        core.receive(request(2), peer: "gateway:org-1:gw-1", now: .now, into: &actions)
        #expect(core.callsInFlight == 1, "revoked: not dispatched")
        let replies = actions.compactMap { action -> Contactpoint_V1_ReplyHeader? in
            guard case .send(let frames) = action, frames.first == [9],
                case .final(_, let body)? = try? Majordomo.ClientCommand(frames: frames[1...])
            else { return nil }
            return Envelope.decode(Contactpoint_V1_ReplyHeader.self, from: body[0])
        }
        #expect(
            replies.map(\.callID) == [2] && replies.first?.statusCode == Int32(Status.Code.unauthenticated.rawValue))
        // Anyone else is routed as before
        #expect(admissions.mayCall("operator") && admissions.mayCall("index"))
    }
}

import BusProtocol
import ContactPointAPI
import GRPCCore
import Testing

@Suite("RPC envelope")
struct EnvelopeTests {
    @Test("metadata survives the trip through MetadataEntry, text and binary, repeated keys in order")
    func metadataRoundTrip() {
        var metadata: Metadata = ["x-reason-for-access": "s47 enquiry", "x-token-bin": .binary([0, 255, 7])]
        metadata.addString("second", forKey: "x-reason-for-access")
        let entries = Envelope.entries(metadata)
        #expect(entries.count == 3)
        let back = Envelope.metadata(entries)
        #expect(Array(back[stringValues: "x-reason-for-access"]) == ["s47 enquiry", "second"])
        #expect(Array(back[binaryValues: "x-token-bin"]) == [[0, 255, 7]])
    }

    @Test("headers encode to protobuf and decode back; garbage does not decode")
    func headerCodec() throws {
        var header = Contactpoint_V1_RequestHeader()
        header.callID = .max
        header.method = "/contactpoint.v1.Echo/Get"
        header.timeoutMicros = 1_500_000
        header.attempt = 2
        header.peer = "index"
        let decoded = try #require(Envelope.decode(Contactpoint_V1_RequestHeader.self, from: Envelope.encode(header)))
        #expect(decoded == header)
        #expect(Envelope.decode(Contactpoint_V1_RequestHeader.self, from: [0xFF, 0xFF, 0xFF]) == nil)
    }

    @Test("a failure body is one reply header carrying the call id and the status")
    func failureBody() throws {
        let body = Envelope.failureBody(callID: 9, code: .unavailable, message: "worker lost")
        #expect(body.count == 1)
        let header = try #require(Envelope.decode(Contactpoint_V1_ReplyHeader.self, from: body[0]))
        #expect(header.callID == 9)
        #expect(header.statusCode == 14)
        #expect(header.statusMessage == "worker lost")
    }
}

import BusProtocol
import Testing

@Suite("MDP/0.2 frames")
struct MajordomoTests {
    @Test("client commands round-trip through their frames")
    func clientRoundTrip() throws {
        let commands: [Majordomo.ClientCommand] = [
            .request(service: "contactpoint.v1.Echo", body: [[1, 2], [3]]),
            .partial(service: "s", body: [[]]),
            .final(service: "s", body: [[9], [8, 7]]),
        ]
        for command in commands {
            #expect(try Majordomo.ClientCommand(frames: command.frames[...]) == command)
        }
    }

    @Test("worker commands round-trip through their frames")
    func workerRoundTrip() throws {
        let commands: [Majordomo.WorkerCommand] = [
            .ready(service: "contactpoint.v1.Echo"),
            .request(client: [0, 1, 2, 3, 4], body: [[1], [2]]),
            .partial(client: [5], body: [[1]]),
            .final(client: [5], body: [[1], [2]]),
            .heartbeat,
            .disconnect,
        ]
        for command in commands {
            #expect(try Majordomo.WorkerCommand(frames: command.frames[...]) == command)
        }
    }

    @Test("the frames are those of RFC 18")
    func wireFormat() {
        #expect(
            Majordomo.ClientCommand.request(service: "echo", body: [[0xAA]]).frames == [
                Array("MDPC02".utf8), [0x01], Array("echo".utf8), [0xAA],
            ])
        #expect(
            Majordomo.WorkerCommand.final(client: [7], body: [[0xBB]]).frames == [
                Array("MDPW02".utf8), [0x04], [7], [], [0xBB],
            ])
        #expect(Majordomo.WorkerCommand.heartbeat.frames == [Array("MDPW02".utf8), [0x05]])
        #expect(Majordomo.WorkerCommand.disconnect.frames == [Array("MDPW02".utf8), [0x06]])
    }

    @Test(
        "malformed messages are rejected with a reason",
        arguments: [
            [[UInt8]](),
            [Array("MDPW02".utf8)],
            [Array("MDPW02".utf8), [0x09]],
            [Array("MDPW02".utf8), [0x01, 0x01], Array("x".utf8)],
            [Array("MDPW02".utf8), [0x02], [1], [0xFF], [1]],
            [Array("MDPW02".utf8), [0x01], []],
            [Array("MDPW02".utf8), [0x01], [0xFF, 0xFE]],
            [Array("MDPW02".utf8), [0x05], [1]],
            [Array("MDPX02".utf8), [0x05]],
        ])
    func malformedWorker(frames: [[UInt8]]) {
        #expect(throws: Majordomo.MalformedMessage.self) { try Majordomo.WorkerCommand(frames: frames[...]) }
    }

    @Test("a client command needs a body")
    func clientWithoutBody() {
        #expect(throws: Majordomo.MalformedMessage.tooFewFrames(3, expected: 4)) {
            try Majordomo.ClientCommand(frames: [Array("MDPC02".utf8), [0x01], Array("s".utf8)][...])
        }
    }
}

import Foundation
import TestSupport
import Testing

/// The record and replay halves of the crash harness on a hand-written recording, without a stack.
@Suite("Power-cut harness")
struct SystemCallTraceTests {
    /// A string as `strace -xx` prints it.
    static func hex(_ text: String) -> String { text.utf8.map { String(format: "\\x%02x", $0) }.joined() }

    @Test(
        """
        strace lines are read whatever the thread id's width, unfinished calls are joined, and a cut keeps only \
        what was synced
        """
    )
    func recordAndReplay() throws {
        let directory = try TemporaryDirectory(prefix: "trace")
        let root = "\(directory.path)/root"
        let (r, keys, key, temporary) = (
            Self.hex(root), Self.hex("\(root)/keys"), Self.hex("\(root)/keys/a.key"), Self.hex("\(root)/keys/.a.key.x")
        )
        let recording = """
            9485  1000.000001 mkdir("\(keys)", 0700) = 0 <0.000010>
            9485  1000.000020 fsync(3<\(r)>) = 0 <0.000010>
            16151 1000.000040 openat(AT_FDCWD<\(r)>, "\(temporary)", O_RDWR|O_CREAT|O_EXCL, 0600) = 4<\(temporary)> \
            <0.000010>
            16151 1000.000060 write(4<\(temporary)>, "\(Self.hex("secret\n"))", 7 <unfinished ...>
            9485  1000.000065 write(1<pipe:[5]>, "\(Self.hex("log"))", 3) = 3 <0.000001>
            16151 1000.000070 <... write resumed>) = 7 <0.000020>
            16151 1000.000090 fsync(4<\(temporary)>) = 0 <0.000010>
            16151 1000.000110 link("\(temporary)", "\(key)") = 0 <0.000010>
            16151 1000.000130 unlink("\(temporary)") = 0 <0.000010>
            16151 1000.000150 fsync(5<\(keys)>) = 0 <0.000010>
            16151 1000.000170 pwrite64(6<\(key)>, "\(Self.hex("X"))", 1, 0) = 1 <0.000010>
            16151 1000.000190 +++ killed by SIGKILL +++
            """
        try recording.write(toFile: "\(directory.path)/trace", atomically: true, encoding: .utf8)

        let trace = try SystemCallTrace(contentsOf: "\(directory.path)/trace", root: root)
        #expect(trace.unresolved == 0)
        #expect(trace.calls.count == 9, "the pipe write is not under the root: \(trace.calls.map(\.operation))")
        let write = try #require(trace.calls.first { if case .write = $0.operation { true } else { false } })
        #expect(
            write.startMicros == 1000_000_060 && write.endMicros == 1000_000_080,
            "an unfinished call is timed from its start")
        #expect(
            write.operation
                == .write(path: "\(root)/keys/.a.key.x", descriptor: 4, offset: nil, bytes: Array("secret\n".utf8)))

        func cut(after syncs: Int) throws -> String {
            var files = CrashFileSystem(root: root)
            var seen = 0
            for call in trace.calls {
                files.apply(call.operation)
                if case .sync = call.operation { seen += 1 }
                if seen == syncs { break }
            }
            let state = "\(directory.path)/cut-\(syncs)"
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
            try files.materialize(into: state)
            return state
        }
        // After the root's sync: the keys directory, empty (its own entries were never synced)
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(try cut(after: 1))/keys") == [])
        // After the file's sync but before its directory's: still no name for it
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(try cut(after: 2))/keys") == [])
        // After the directory's sync: the key, whole; the later unsynced write is not there
        let last = try cut(after: 3)
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(last)/keys") == ["a.key"])
        #expect(try String(contentsOfFile: "\(last)/keys/a.key", encoding: .utf8) == "secret\n")
    }
}

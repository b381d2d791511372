import DurableFiles
import Foundation
import Testing

/// What `DurableFile` leaves behind: whole files with the mode asked for, exclusive creation, no
/// temporary files. (That each step is synced is checked where it takes effect, on the raw bytes a
/// power cut would leave: the power-cut tests in EndToEndTests.)
@Suite struct DurableFileTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("durable-file-\(UUID())").path

    func entries(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }

    @Test("write replaces a file whole with the mode asked for and leaves no temporary file")
    func writeReplaces() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try DurableFile.createDirectory("\(root)/a/b", mode: 0o700)
        try DurableFile.write("first\n", to: "\(root)/a/b/state.json", mode: 0o600)
        try DurableFile.write("second\n", to: "\(root)/a/b/state.json", mode: 0o600)
        #expect(try String(contentsOfFile: "\(root)/a/b/state.json", encoding: .utf8) == "second\n")
        #expect(try entries("\(root)/a/b") == ["state.json"])
        #expect(try mode("\(root)/a/b/state.json") == 0o600)
        #expect(try mode("\(root)/a") == 0o700 && mode("\(root)/a/b") == 0o700)
    }

    @Test("create never replaces: the first writer's bytes stay, the second is told")
    func createIsExclusive() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try DurableFile.createDirectory(root)
        #expect(try DurableFile.create(Array("one".utf8), at: "\(root)/secret", mode: 0o600))
        #expect(try !DurableFile.create(Array("two".utf8), at: "\(root)/secret", mode: 0o600))
        #expect(try String(contentsOfFile: "\(root)/secret", encoding: .utf8) == "one")
        #expect(try entries(root) == ["secret"])
        #expect(try mode("\(root)/secret") == 0o600)
    }

    @Test("a write into a missing directory fails with the call and path, and creates nothing")
    func failureIsReported() throws {
        #expect(throws: DurableFileError.self) { try DurableFile.write("x", to: "\(root)/missing/file") }
        #expect(!FileManager.default.fileExists(atPath: root))
        do {
            try DurableFile.write("x", to: "\(root)/missing/file")
        } catch {
            #expect(error.operation == "mkstemp" && error.errno == ENOENT, "\(error)")
        }
    }
}

import Foundation

/// A new directory under the system's temporary directory, removed with everything in it when
/// the last reference to it goes away — so that a test run leaves nothing behind in /tmp.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

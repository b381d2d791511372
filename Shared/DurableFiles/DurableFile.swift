import Glibc

/// Files and directories written so that they survive a power cut whole or not at all.
///
/// A file is written under a temporary name in its directory, synced, renamed into place, and
/// then the directory is synced: before the rename a cut leaves the old file (or none), after the
/// directory sync the new one. A rename alone is atomic but not durable, and a sync of the file
/// does not make its name durable: only a sync of the directory that holds the name does (POSIX;
/// ext4 often does more, which is no promise). Every function here returns only once what it
/// wrote is on disk.
public enum DurableFile {
    /// Replaces (or creates) `path` with `bytes`, mode `mode`.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(DurableFileError) {
        let temporary = try writeTemporary(bytes, beside: path, mode: mode)
        guard rename(temporary, path) == 0 else {
            let error = DurableFileError(path: path, operation: "rename", errno: errno)
            unlink(temporary)
            throw error
        }
        try syncDirectory(containing: path)
    }

    /// Replaces (or creates) `path` with the UTF-8 of `text`.
    public static func write(_ text: String, to path: String, mode: mode_t = 0o644) throws(DurableFileError) {
        try write(Array(text.utf8), to: path, mode: mode)
    }

    /// Creates `path` with `bytes` only if no file has that name: returns false, changing
    /// nothing, if one has. Processes racing to create the same file agree on one of them (the
    /// name is taken by `link`, which never replaces), and none sees a partly written file.
    @discardableResult
    public static func create(_ bytes: [UInt8], at path: String, mode: mode_t = 0o600) throws(DurableFileError) -> Bool
    {
        let temporary = try writeTemporary(bytes, beside: path, mode: mode)
        let linked = link(temporary, path) == 0
        let linkError = errno
        // Removed before the directory is synced, so that one sync makes the new name durable
        // and leaves no temporary name behind after a cut.
        unlink(temporary)
        guard linked else {
            if linkError == EEXIST { return false }
            throw DurableFileError(path: path, operation: "link", errno: linkError)
        }
        try syncDirectory(containing: path)
        return true
    }

    /// Creates `path` and any missing parents with mode `mode`, syncing each directory whose
    /// entries changed; does nothing to directories that exist.
    public static func createDirectory(_ path: String, mode: mode_t = 0o700) throws(DurableFileError) {
        let absolute = path.hasPrefix("/") ? path : "\(currentDirectory())/\(path)"
        var missing: [String] = []
        var current = trimmed(absolute)
        while !current.isEmpty, !isDirectory(current) {
            missing.append(current)
            current = parent(of: current)
        }
        for directory in missing.reversed() {
            guard mkdir(directory, mode) == 0 || (errno == EEXIST && isDirectory(directory)) else {
                throw DurableFileError(path: directory, operation: "mkdir", errno: errno)
            }
            // mkdir applies the umask; the mode asked for is the mode wanted.
            guard chmod(directory, mode) == 0 else {
                throw DurableFileError(path: directory, operation: "chmod", errno: errno)
            }
            try syncDirectory(parent(of: directory))
        }
    }

    /// Makes the names in `directory` (files created, renamed or removed in it) durable.
    public static func syncDirectory(_ directory: String) throws(DurableFileError) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw DurableFileError(path: directory, operation: "open", errno: errno) }
        defer { close(descriptor) }
        try sync(descriptor, path: directory)
    }

    /// Makes the name of `path` durable: syncs the directory that holds it.
    public static func syncDirectory(containing path: String) throws(DurableFileError) {
        let directory = parent(of: trimmed(path))
        try syncDirectory(directory.isEmpty ? (path.hasPrefix("/") ? "/" : ".") : directory)
    }

    // MARK: Helpers

    /// Writes `bytes` to a new temporary file beside `path` and syncs it; returns its name.
    private static func writeTemporary(_ bytes: [UInt8], beside path: String, mode: mode_t) throws(DurableFileError)
        -> String
    {
        let directory = parent(of: trimmed(path))
        let name = String(trimmed(path).split(separator: "/").last ?? "")
        var template = Array("\(directory.isEmpty ? "." : directory)/.\(name).XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw DurableFileError(path: path, operation: "mkstemp", errno: errno) }
        let temporary = string(template)
        do throws(DurableFileError) {
            defer { close(descriptor) }
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            guard fchmod(descriptor, mode) == 0 else {
                throw DurableFileError(path: temporary, operation: "fchmod", errno: errno)
            }
            try writeAll(bytes, to: descriptor, path: temporary)
            try sync(descriptor, path: temporary)
        } catch {
            unlink(temporary)
            throw error
        }
        return temporary
    }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws(DurableFileError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes {
                Glibc.write(descriptor, $0.baseAddress! + offset, bytes.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw DurableFileError(path: path, operation: "write", errno: errno)
            }
            offset += written
        }
    }

    private static func sync(_ descriptor: Int32, path: String) throws(DurableFileError) {
        while fsync(descriptor) != 0 {
            // A failed fsync may have dropped the dirty pages: retrying would report success for
            // data that is not on disk (PostgreSQL's "fsyncgate"). Only an interruption is retried.
            guard errno == EINTR else { throw DurableFileError(path: path, operation: "fsync", errno: errno) }
        }
    }

    private static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    private static func trimmed(_ path: String) -> String {
        var path = Substring(path)
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        return String(path)
    }

    /// The directory part of `path` ("" for a bare name, "/" for a name in the root).
    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        return getcwd(&buffer, buffer.count) == nil ? "." : string(buffer)
    }

    private static func string(_ characters: [CChar]) -> String {
        String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A file-system call that failed while writing durably: which, on what path, and the `errno`.
public struct DurableFileError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var operation: String
    public var errno: Int32

    public init(path: String, operation: String, errno: Int32) {
        self.path = path
        self.operation = operation
        self.errno = errno
    }

    public var description: String { "\(path): \(operation) failed: \(String(cString: strerror(errno)))" }
}

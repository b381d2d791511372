import Foundation

/// The files under a root as a power cut would leave them: the replay half of the crash harness.
///
/// Replays ``SystemCallTrace`` calls on a model with two views of every file and directory: what
/// the processes saw (volatile) and what is on disk (durable). Only a sync moves a node's volatile
/// state to disk: `fsync`/`fdatasync` of a file makes its bytes durable, of a directory its names
/// (creations, renames, links, removals). A name that was never synced in its directory is gone
/// after the cut, a file synced by name-less descriptor is unreachable, and a file whose name is
/// durable but whose bytes were never synced is empty. That is the POSIX promise, no more: ext4
/// with its default journal often keeps more, which a program cannot rely on.
struct CrashFileSystem {
    private struct File {
        var isDirectory: Bool
        var size = 0
        /// Contents in pages, so that a snapshot at each sync copies references, not bytes.
        var pages: [Int: [UInt8]] = [:]
        var entries: [String: Int] = [:]

        static let pageSize = 4096

        mutating func write(_ bytes: [UInt8], at offset: Int) {
            var position = offset
            var index = 0
            while index < bytes.count {
                let page = position / Self.pageSize
                let within = position % Self.pageSize
                let count = Swift.min(Self.pageSize - within, bytes.count - index)
                var contents = pages[page] ?? [UInt8](repeating: 0, count: Self.pageSize)
                contents.replaceSubrange(within..<(within + count), with: bytes[index..<(index + count)])
                pages[page] = contents
                position += count
                index += count
            }
            size = Swift.max(size, offset + bytes.count)
        }

        mutating func truncate(to newSize: Int) {
            if newSize < size {
                for page in pages.keys where page * Self.pageSize >= newSize { pages.removeValue(forKey: page) }
                let last = newSize / Self.pageSize
                if var contents = pages[last] {
                    for index in (newSize % Self.pageSize)..<Self.pageSize { contents[index] = 0 }
                    pages[last] = contents
                }
            }
            size = newSize
        }

        var bytes: [UInt8] {
            var bytes = [UInt8](repeating: 0, count: size)
            for (page, contents) in pages where page * Self.pageSize < size {
                let start = page * Self.pageSize
                let count = Swift.min(Self.pageSize, size - start)
                bytes.replaceSubrange(start..<(start + count), with: contents.prefix(count))
            }
            return bytes
        }
    }

    private let root: String
    private var volatile: [Int: File] = [0: File(isDirectory: true)]
    private var durable: [Int: File] = [0: File(isDirectory: true)]
    private var nextNode = 1
    /// The position of each open descriptor, by path and number, for `write`.
    private var positions: [String: Int] = [:]

    /// An empty root, durable as it is (the test made it before the recording began).
    init(root: String) {
        self.root = root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    mutating func apply(_ operation: SystemCallTrace.Operation) {
        switch operation {
        case .open(let path, let descriptor, let creates, let truncates, let appends):
            if creates, node(at: path) == nil, let (parent, name) = parent(of: path) {
                volatile[nextNode] = File(isDirectory: false)
                volatile[parent]!.entries[name] = nextNode
                nextNode += 1
            }
            guard let node = node(at: path) else { return }
            if truncates { volatile[node]!.truncate(to: 0) }
            positions["\(descriptor) \(path)"] = appends ? volatile[node]!.size : 0
        case .write(let path, let descriptor, let offset, let bytes):
            guard let node = node(at: path) else { return }
            let key = "\(descriptor) \(path)"
            let start = offset ?? positions[key] ?? 0
            volatile[node]!.write(bytes, at: start)
            if offset == nil { positions[key] = start + bytes.count }
        case .seek(let path, let descriptor, let position):
            positions["\(descriptor) \(path)"] = position
        case .truncate(let path, let size):
            guard let node = node(at: path) else { return }
            volatile[node]!.truncate(to: size)
        case .makeDirectory(let path):
            guard node(at: path) == nil, let (parent, name) = parent(of: path) else { return }
            volatile[nextNode] = File(isDirectory: true)
            volatile[parent]!.entries[name] = nextNode
            nextNode += 1
        case .rename(let from, let to):
            guard let node = node(at: from), let (oldParent, oldName) = parent(of: from),
                let (newParent, newName) = parent(of: to)
            else { return }
            volatile[oldParent]!.entries.removeValue(forKey: oldName)
            volatile[newParent]!.entries[newName] = node
        case .link(let from, let to):
            guard let node = node(at: from), let (parent, name) = parent(of: to) else { return }
            volatile[parent]!.entries[name] = node
        case .remove(let path):
            guard let (parent, name) = parent(of: path) else { return }
            volatile[parent]!.entries.removeValue(forKey: name)
        case .sync(let path):
            guard let node = node(at: path) else { return }
            durable[node] = volatile[node]
        }
    }

    /// Writes the durable state into `directory` (which must exist and be empty).
    func materialize(into directory: String) throws {
        func write(_ node: Int, to path: String) throws {
            let file = durable[node] ?? File(isDirectory: volatile[node]?.isDirectory ?? false)
            if file.isDirectory {
                if path != directory {
                    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
                }
                chmod(path, 0o700)
                for (name, child) in file.entries { try write(child, to: "\(path)/\(name)") }
            } else {
                guard
                    FileManager.default.createFile(
                        atPath: path, contents: Data(file.bytes), attributes: [.posixPermissions: 0o600])
                else {
                    throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
                }
            }
        }
        try write(0, to: directory)
    }

    // MARK: Paths

    private func components(_ path: String) -> [String]? {
        var path = path
        if path.hasSuffix(" (deleted)") { return nil }
        guard path == root || path.hasPrefix(root + "/") else { return nil }
        path.removeFirst(root.count)
        return path.split(separator: "/").map(String.init)
    }

    private func node(at path: String) -> Int? {
        guard let components = components(path) else { return nil }
        var node = 0
        for name in components {
            guard let next = volatile[node]?.entries[name] else { return nil }
            node = next
        }
        return node
    }

    private func parent(of path: String) -> (node: Int, name: String)? {
        guard let components = components(path), let name = components.last else { return nil }
        var node = 0
        for directory in components.dropLast() {
            guard let next = volatile[node]?.entries[directory] else { return nil }
            node = next
        }
        return volatile[node]?.isDirectory == true ? (node, name) : nil
    }
}

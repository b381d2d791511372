import ArgumentParser
import ContactPointAPI
import Foundation
import GRPCCore
import Index
import SwiftProtobuf

/// A feed file: length-delimited `contactpoint.v1.ChildEntry` messages (protobuf's delimited
/// format: a varint length, then the message), as `contactpoint seed` writes and national feeds
/// can be converted to. `FeedReader` reads one.
enum FeedFile {
    static func write(_ entries: some Sequence<Contactpoint_V1_ChildEntry>, to stream: OutputStream) throws {
        for entry in entries { try BinaryDelimited.serialize(message: entry, to: stream) }
    }
}

/// `contactpoint seed`: a synthetic population as a feed file.
struct Seed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a synthetic population of children to a feed file, for demos and benchmarks.",
        discussion: """
            Families of siblings sharing a name, address and carers; names by their frequency in England and Wales; \
            every child a GP and a school or nursery, some more services; about 1% entered twice with a misspelt name. \
            Load it with `contactpoint children load FILE`.
            """)
    @Option(help: "How many children.") var children: Int
    @Option(help: "The feed file to write.") var output: String
    @Option(help: "The random seed: the same seed gives the same population.") var seed: UInt64 = 1

    func validate() throws {
        guard children > 0 else { throw ValidationError("--children: at least 1") }
    }

    func run() throws {
        guard FileManager.default.createFile(atPath: output, contents: nil),
            let stream = OutputStream(toFileAtPath: output, append: false)
        else {
            throw CLIError("cannot write \(output)")
        }
        stream.open()
        defer { stream.close() }
        var generator = PopulationGenerator(seed: seed)
        try FeedFile.write((0..<children).lazy.map { _ in generator.next() }, to: stream)
        print("wrote \(children) children to \(output)")
    }
}

/// `contactpoint children`: loading feeds.
struct Children: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load children's details from a feed file.", subcommands: [Load.self])

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a feed file into the index in batches, with progress.",
            discussion: """
                Through the index service (a system administrator's session; a local-authority administrator's for \
                their own children), or with --database straight into the index database on its host (the \
                operator's way for national feeds: no bus, larger batches, recorded in the audit trail as \
                index/load-feed by operator:USER). Each batch is one transaction: a failed batch is reported with \
                its position and nothing of it is stored; earlier batches stay.
                """)
        @OptionGroup var bus: BusClientOptions
        @Argument(help: "A feed file, e.g. from `contactpoint seed`.") var file: String
        @Option(help: "Children per transaction (1–1000 through the service, up to 10000 with --database).")
        var batchSize = 1000
        @Option(help: "Load straight into this index database (index.sqlite) instead of through the service.")
        var database: String?
        @Flag(
            help:
                """
                With --database, into an empty index: build the search structures once at the end (much faster; \
                searches find the new children only when it is done).
                """
        )
        var initial = false

        func validate() throws {
            let maximum = database == nil ? 1000 : 10_000
            guard (1...maximum).contains(batchSize) else { throw ValidationError("--batch-size: 1–\(maximum)") }
            guard !initial || database != nil else { throw ValidationError("--initial: only with --database") }
        }

        func run() async throws {
            let feed = try FeedReader.open(file, batchSize: batchSize)
            let start = LoadProgress(file: file, bytes: feed.size)
            start.announce()
            if let database {
                var progress = start
                let user = ProcessInfo.processInfo.userName.filter {
                    $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0))
                }
                let loader = try FeedLoader(database: database, operatorName: "operator:\(user.prefix(48))")
                if initial {
                    do { try await loader.beginInitialLoad() } catch let error as RPCError {
                        throw CLIError(error.message)
                    }
                }
                // While one batch is written, the next is read and validated.
                var batch = try progress.stopping {
                    try progress.checked(feed.next()) { try loader.validate($0, offset: progress.done) }
                }
                while !batch.isEmpty {
                    let writing = batch
                    let writingThrough = feed.bytesRead
                    async let stored = loader.store(writing)
                    let next: [Contactpoint_V1_ChildEntry]
                    do {
                        next = try progress.checked(feed.next()) {
                            try loader.validate($0, offset: progress.done + writing.count)
                        }
                    } catch {
                        let loaded = try await stored
                        progress.add(
                            created: loaded.created, updated: loaded.updated, skippedAdults: loaded.skippedAdults,
                            bytesRead: writingThrough)
                        throw progress.stopped(by: error)
                    }
                    let loaded = try await stored
                    progress.add(
                        created: loaded.created, updated: loaded.updated, skippedAdults: loaded.skippedAdults,
                        bytesRead: writingThrough)
                    batch = next
                }
                if initial {
                    print("building the search index…")
                    try await loader.finishInitialLoad()
                }
                progress.report()
            } else {
                let metadata = try bus.sessionMetadata()
                try await withIndex(bus) { index in
                    var progress = start
                    var options = CallOptions.defaults
                    options.timeout = .seconds(60)
                    while case let batch = try progress.stopping({ try feed.next() }), !batch.isEmpty {
                        let result = try await progress.checked(batch) { batch in
                            try await index.putChildren(
                                .with {
                                    $0.children = batch
                                    $0.skipAdults = true
                                }, metadata: metadata.withNewIdempotencyKey(), options: options)
                        }
                        progress.add(
                            created: Int(result.created), updated: Int(result.updated),
                            skippedAdults: Int(result.skippedAdults), bytesRead: feed.bytesRead)
                    }
                    return progress
                }.report()
            }
        }
    }
}

/// Counts and reports a load: a progress bar from the first batch (share of the file read,
/// children, rate, time left), the final tally, and a failed batch's position in the file. On a
/// terminal the bar is redrawn in place; otherwise (a log, a pipe) a line at every tenth of the file.
struct LoadProgress: Sendable {
    let file: String
    /// The file's size: what share of it is read tells how far the load has come.
    let bytes: Int
    let started = ContinuousClock.now
    private(set) var created = 0
    private(set) var updated = 0
    private var bytesRead = 0
    private var shownTenths = 0
    private var drawnAt = ContinuousClock.now
    private let isTerminal = isatty(STDOUT_FILENO) == 1
    /// Young people of 18 or over not on the index: skipped, as the index holds children.
    private(set) var skippedAdults = 0
    /// The feed's rows so far: loaded or skipped.
    var done: Int { created + updated + skippedAdults }

    init(file: String, bytes: Int) {
        self.file = file
        self.bytes = bytes
    }

    func announce() {
        print("loading \(file) (\(String(format: "%.1f", Double(bytes) / 1_048_576)) MiB)")
    }

    /// `body` applied to `batch`, a failure reported with the batch's place in the file.
    func checked<T>(_ batch: [Contactpoint_V1_ChildEntry], _ body: ([Contactpoint_V1_ChildEntry]) async throws -> T)
        async throws -> T
    {
        do {
            return try await body(batch)
        } catch let error as RPCError {
            throw CLIError(
                """
                children \(done + 1)–\(done + batch.count) of \(file): \(error.message) (\(error.code)); the \
                \(done) before them are loaded
                """
            )
        }
    }

    /// A feed that could not be read further (`FeedReader` says where), with how much is loaded.
    func stopped(by error: any Error) -> CLIError {
        CLIError("\(error); the \(done) children before it are loaded")
    }

    func stopping<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as CLIError where error.code == nil { throw stopped(by: error) }
    }

    func checked<T>(_ batch: [Contactpoint_V1_ChildEntry], _ body: ([Contactpoint_V1_ChildEntry]) throws -> T) throws
        -> T
    {
        do {
            return try body(batch)
        } catch let error as RPCError {
            throw CLIError(
                """
                children \(done + 1)–\(done + batch.count) of \(file): \(error.message) (\(error.code)); the \
                \(done) before them are loaded
                """
            )
        }
    }

    mutating func add(created: Int, updated: Int, skippedAdults: Int, bytesRead: Int) {
        self.created += created
        self.updated += updated
        self.skippedAdults += skippedAdults
        self.bytesRead = bytesRead
        let tenths = bytes == 0 ? 10 : 10 * bytesRead / bytes
        if isTerminal {
            guard ContinuousClock.now - drawnAt >= .milliseconds(200) || tenths == 10 else { return }
            drawnAt = ContinuousClock.now
            print("\r\(bar)", terminator: "")
            fflush(nil)
        } else if tenths > shownTenths {
            shownTenths = tenths
            print(bar)
        }
    }

    /// `[########------------] 40%  40,000 children  1,210/s  33 s left`
    var bar: String {
        let share = bytes == 0 ? 1 : min(1, Double(bytesRead) / Double(bytes))
        let filled = Int(share * 20)
        let rate = Double(done) / max(seconds, 0.001)
        let left = share > 0 ? seconds * (1 - share) / share : 0
        return """
            [\(String(repeating: "#", count: filled))\(String(repeating: "-", count: 20 - filled))] \
            \(String(format: "%3d", Int(share * 100)))%  \(done) \(done == 1 ? "child" : "children")  \(Int(rate))/s  \
            \(Self.duration(left)) left
            """
    }

    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        return whole < 60
            ? "\(whole) s"
            : whole < 3600 ? "\(whole / 60) min \(whole % 60) s" : "\(whole / 3600) h \(whole % 3600 / 60) min"
    }

    var seconds: Double { (ContinuousClock.now - started) / .seconds(1) }

    func report() {
        if isTerminal, done > 0 { print("") }
        let loaded = created + updated
        print(
            """
            loaded \(loaded) \(loaded == 1 ? "child" : "children") (\(created) new, \(updated) updated) in \
            \(String(format: "%.1f", seconds)) s
            """
        )
        if skippedAdults > 0 {
            print(
                """
                skipped \(skippedAdults) young \(skippedAdults == 1 ? "person" : "people") of 18 or over not on the \
                index: it holds children
                """)
        }
    }
}

/// A feed file's stream in batches, read by one task at a time (the load loop). It counts the
/// records and bytes it has read, so that a broken file is reported at the record and byte
/// offset where it breaks.
final class FeedReader: @unchecked Sendable {
    private let stream: InputStream
    private let file: String
    private let batchSize: Int
    /// Records read so far, and the byte offset of the next one.
    private var records = 0
    private var offset = 0
    /// The file's size in bytes.
    let size: Int
    var bytesRead: Int { offset }

    init(stream: InputStream, file: String, batchSize: Int) {
        self.stream = stream
        self.file = file
        self.batchSize = batchSize
        size = ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int) ?? 0
    }

    /// Opens `file`, or says plainly that it is missing or unreadable.
    static func open(_ file: String, batchSize: Int) throws -> FeedReader {
        guard FileManager.default.fileExists(atPath: file) else { throw CLIError("no such file: \(file)") }
        guard let stream = InputStream(fileAtPath: file), FileManager.default.isReadableFile(atPath: file) else {
            throw CLIError("cannot read \(file)")
        }
        stream.open()
        if stream.streamStatus == .error {
            throw CLIError("cannot read \(file): \(stream.streamError?.localizedDescription ?? "unknown error")")
        }
        return FeedReader(stream: stream, file: file, batchSize: batchSize)
    }

    deinit { stream.close() }

    /// The next batch; empty at the end of the file.
    func next() throws -> [Contactpoint_V1_ChildEntry] {
        var batch: [Contactpoint_V1_ChildEntry] = []
        while batch.count < batchSize, let entry = try nextEntry() { batch.append(entry) }
        return batch
    }

    /// The next length-delimited entry, or nil where the file ends between two.
    private func nextEntry() throws -> Contactpoint_V1_ChildEntry? {
        let start = offset
        var length = 0
        var shift = 0
        while true {
            guard let byte = try readBytes(1)?.first else {
                if offset == start { return nil }
                throw broken(at: start, "the file ends inside its length (truncated)")
            }
            length |= Int(byte & 0x7f) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
            guard shift < 35 else { throw broken(at: start, "its length is not a varint (not a feed file?)") }
        }
        guard length <= 1 << 20 else {
            throw broken(at: start, "it claims \(length) bytes, more than any child's record (not a feed file?)")
        }
        guard let bytes = try readBytes(length), bytes.count == length else {
            throw broken(at: start, "the file ends inside it (truncated): \(length) bytes expected")
        }
        do {
            let entry = try Contactpoint_V1_ChildEntry(serializedBytes: bytes)
            records += 1
            return entry
        } catch {
            throw broken(at: start, "not a ChildEntry message (malformed protobuf)")
        }
    }

    /// Up to `count` bytes; nil at the end of the file.
    private func readBytes(_ count: Int) throws -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let read = bytes.withUnsafeMutableBufferPointer {
                stream.read($0.baseAddress! + filled, maxLength: count - filled)
            }
            if read < 0 {
                throw CLIError(
                    """
                    cannot read \(file) at byte \(offset + filled): \
                    \(stream.streamError?.localizedDescription ?? "read failed")
                    """
                )
            }
            if read == 0 { break }
            filled += read
        }
        offset += filled
        return filled == 0 && count > 0 ? nil : Array(bytes.prefix(filled))
    }

    private func broken(at start: Int, _ what: String) -> CLIError {
        CLIError("\(file): record \(records + 1), at byte offset \(start): \(what)")
    }
}

import ArgumentParser
import ContactPointAPI
import Foundation
import GRPCCore
import Index
import SwiftProtobuf

/// A feed file: length-delimited `contactpoint.v1.ChildEntry` messages (protobuf's delimited
/// format: a varint length, then the message), as `contactpoint seed` writes and national feeds
/// can be converted to.
enum FeedFile {
    static func write(_ entries: some Sequence<Contactpoint_V1_ChildEntry>, to stream: OutputStream) throws {
        for entry in entries { try BinaryDelimited.serialize(message: entry, to: stream) }
    }

    /// The next entry, or nil at the end of the file.
    static func read(from stream: InputStream) throws -> Contactpoint_V1_ChildEntry? {
        do {
            return try BinaryDelimited.parse(messageType: Contactpoint_V1_ChildEntry.self, from: stream)
        } catch let error as SwiftProtobufError where error.code == .binaryStreamDecodingError {
            // The stream ended cleanly between two messages (a truncated message is another error).
            return nil
        }
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
        guard FileManager.default.createFile(atPath: output, contents: nil), let stream = OutputStream(toFileAtPath: output, append: false) else {
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
    static let configuration = CommandConfiguration(abstract: "Load children's details from a feed file.", subcommands: [Load.self])

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a feed file through the index, in batches (system administrators; local-authority administrators for their own children).",
            discussion: "Each batch is one transaction: a failed batch is reported with its position and nothing of it is stored; earlier batches stay.")
        @OptionGroup var bus: BusClientOptions
        @Argument(help: "A feed file, e.g. from `contactpoint seed`.") var file: String
        @Option(help: "Children per call (1–1000).") var batchSize = 1000

        func validate() throws {
            guard (1...1000).contains(batchSize) else { throw ValidationError("--batch-size: 1–1000") }
        }

        func run() async throws {
            let metadata = try sessionMetadata()
            guard let stream = InputStream(fileAtPath: file) else { throw CLIError("cannot read \(file)") }
            stream.open()
            defer { stream.close() }
            let feed = FeedReader(stream: stream)
            let started = ContinuousClock.now
            let (created, updated) = try await withIndex(bus) { index in
                var created = 0, updated = 0, batch: [Contactpoint_V1_ChildEntry] = []
                func send() async throws {
                    var options = CallOptions.defaults
                    options.timeout = .seconds(60)
                    do {
                        let result = try await index.putChildren(.with { $0.children = batch }, metadata: metadata, options: options)
                        created += Int(result.created)
                        updated += Int(result.updated)
                    } catch let error as RPCError {
                        throw CLIError("children \(created + updated + 1)–\(created + updated + batch.count) of \(file): \(error.message) (\(error.code)); the \(created + updated) before them are loaded")
                    }
                    batch = []
                    if (created + updated) % 50_000 < batchSize {
                        let seconds = (ContinuousClock.now - started) / .seconds(1)
                        print("\(created + updated) children loaded (\(Int(Double(created + updated) / max(seconds, 0.001)))/s)")
                    }
                }
                while let entry = try feed.next() {
                    batch.append(entry)
                    if batch.count == batchSize { try await send() }
                }
                if !batch.isEmpty { try await send() }
                return (created, updated)
            }
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            print("loaded \(created + updated) children (\(created) new, \(updated) updated) in \(String(format: "%.1f", seconds)) s")
        }
    }
}

/// A feed file's stream, read by one task at a time (the load loop).
final class FeedReader: @unchecked Sendable {
    private let stream: InputStream
    init(stream: InputStream) { self.stream = stream }
    func next() throws -> Contactpoint_V1_ChildEntry? { try FeedFile.read(from: stream) }
}

public import ContactPointAPI
import Foundation
public import GRPCCore
import SwiftProtobuf

/// Conversions between the bus envelope (`RequestHeader`, `ReplyHeader`) and GRPCCore's types.
public enum Envelope {
    /// Request metadata keys the bus sets on the server side; values a client sends under them
    /// are replaced.
    public enum ReservedKey {
        /// The authenticated principal of the calling process, as the broker stamped it.
        public static let peer = "x-bus-peer"
        /// Which attempt of the call this is (1 for the first).
        public static let attempt = "x-bus-attempt"
    }

    public static func entries(_ metadata: Metadata) -> [Contactpoint_V1_MetadataEntry] {
        metadata.map { element in
            var entry = Contactpoint_V1_MetadataEntry()
            entry.key = element.key
            switch element.value {
            case .string(let text): entry.text = text
            case .binary(let bytes): entry.binary = Data(bytes)
            }
            return entry
        }
    }

    public static func metadata(_ entries: [Contactpoint_V1_MetadataEntry]) -> Metadata {
        var metadata = Metadata()
        metadata.reserveCapacity(entries.count)
        for entry in entries {
            switch entry.value {
            case .text(let text): metadata.addString(text, forKey: entry.key)
            case .binary(let data): metadata.addBinary(Array(data), forKey: entry.key)
            case nil: metadata.addString("", forKey: entry.key)
            }
        }
        return metadata
    }

    /// The FINAL body the broker sends on a worker's behalf when the call cannot be completed.
    public static func failureBody(callID: UInt64, code: Status.Code, message: String) -> [[UInt8]] {
        var header = Contactpoint_V1_ReplyHeader()
        header.callID = callID
        header.statusCode = Int32(code.rawValue)
        header.statusMessage = message
        return [encode(header)]
    }

    public static func encode(_ message: some SwiftProtobuf.Message) -> [UInt8] {
        // Serialising these plain messages cannot fail: they have no required fields or `Any`s.
        (try? message.serializedBytes()) ?? []
    }

    public static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, from frame: [UInt8]) -> M? {
        try? M(serializedBytes: frame)
    }
}

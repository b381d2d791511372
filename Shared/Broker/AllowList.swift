import Foundation
import Vocabulary
public import ZeroMQ

/// The peers a broker lets in: each CURVE public key mapped to a principal name, and the
/// services that principal may register workers for.
///
/// File format, one peer per line; lines starting with `#` are comments (Z85 keys may contain
/// `#`, so a comment cannot follow an entry on its line):
/// ```
/// # principal      public key (Z85)                           services it may serve
/// echo-service     rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7   contactpoint.v1.Echo,grpc.health.v1.Health
/// ops-console      Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID
/// test-harness     ...                                        *
/// ```
/// A peer without a services column may call services but serve none.
public struct AllowList: Sendable {
    public struct Entry: Sendable, Hashable {
        public var principal: String
        public var publicKey: CurveKey
        /// Services this principal may serve; `["*"]` means any.
        public var services: Set<String>

        public init(principal: String, publicKey: CurveKey, services: Set<String> = []) {
            self.principal = principal
            self.publicKey = publicKey
            self.services = services
        }
    }

    private var byKey: [CurveKey: Entry] = [:]

    public init(_ entries: [Entry]) throws(AllowListError) {
        for entry in entries {
            // Agency gateways' principals are the registry's alone (``GatewayAdmissions``): services
            // trust them to name the gateway's organisation.
            guard !entry.principal.hasPrefix(GatewayPrincipal.prefix) else {
                throw .reservedPrincipal(entry.principal)
            }
            guard byKey[entry.publicKey] == nil else { throw .duplicateKey(entry.principal) }
            byKey[entry.publicKey] = entry
        }
    }

    public init(contentsOf path: String) throws(AllowListError) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        try self.init(parsing: text)
    }

    public init(parsing text: String) throws(AllowListError) {
        var entries: [Entry] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = line.split(whereSeparator: \.isWhitespace).map(String.init)
            guard let first = fields.first, !first.hasPrefix("#") else { continue }
            guard fields.count == 2 || fields.count == 3 else {
                throw .badLine(number + 1, "expected `principal public-key [services]`")
            }
            let key: CurveKey
            do {
                key = try CurveKey(z85: fields[1])
            } catch {
                throw .badLine(number + 1, "\(error)")
            }
            let services = fields.count == 3 ? Set(fields[2].split(separator: ",").map(String.init)) : []
            entries.append(Entry(principal: fields[0], publicKey: key, services: services))
        }
        try self.init(entries)
    }

    public func entry(for key: CurveKey) -> Entry? { byKey[key] }

    public func principal(_ principal: String, mayServe service: String) -> Bool {
        byKey.values.contains {
            $0.principal == principal && ($0.services.contains("*") || $0.services.contains(service))
        }
    }

    public var count: Int { byKey.count }

    /// The principals named, each once.
    public var principals: Set<String> { Set(byKey.values.map(\.principal)) }
}

public enum AllowListError: Error, Hashable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case badLine(Int, String)
    case duplicateKey(String)
    case reservedPrincipal(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read allow-list \(path): \(reason)"
        case .badLine(let line, let reason): "allow-list line \(line): \(reason)"
        case .duplicateKey(let principal): "allow-list: the key of \(principal) appears twice"
        case .reservedPrincipal(let principal):
            "allow-list: \(principal): principals beginning `gateway:` are given by the identity service's gateway registry only"
        }
    }
}

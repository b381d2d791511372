import COpenSSL

/// A failed OpenSSL call: the function, and OpenSSL's own reason from its error queue.
public struct OpenSSLError: Error, CustomStringConvertible, Equatable {
    public var function: String
    public var reason: String

    public var description: String { "\(function) failed: \(reason)" }

    /// Takes the oldest error off this thread's OpenSSL error queue (and clears the rest).
    static func lastError(of function: String) -> OpenSSLError {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return OpenSSLError(function: function, reason: "no reason given") }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return OpenSSLError(
            function: function,
            reason: String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}

/// Runs an OpenSSL call that returns 1 on success.
@inline(__always)
func openSSLCall(_ function: String, _ body: () -> Int32) throws(OpenSSLError) {
    guard body() == 1 else { throw .lastError(of: function) }
}

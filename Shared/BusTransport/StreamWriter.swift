public import GRPCCore

/// A closable writer that feeds an `AsyncThrowingStream`: the inbound half of a call, seen
/// from the transport's side.
struct StreamWriter<Element: Sendable>: ClosableRPCWriterProtocol {
    let continuation: AsyncThrowingStream<Element, any Error>.Continuation

    func write(_ element: Element) async throws {
        continuation.yield(element)
    }

    func write(contentsOf elements: some Sequence<Element>) async throws {
        for element in elements { continuation.yield(element) }
    }

    func finish() async { continuation.finish() }

    func finish(throwing error: any Error) async { continuation.finish(throwing: error) }
}

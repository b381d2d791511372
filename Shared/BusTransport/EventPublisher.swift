public import Logging
public import ServiceLifecycle
import ZeroMQ

/// Publishes events to every broker's event side (XSUB), where subscribers (XPUB) receive them.
///
/// The broker forwards an event only if its topic starts with the publisher's own principal
/// and a slash (`identity/account-suspended`), so no one publishes in another's name. Delivery
/// is best effort — a subscriber that is not connected misses the event — which is why events
/// that matter are also kept in an outbox and delivered by RPC: publishing only wakes consumers
/// early. One PUB socket per broker, owned by a thread of its own.
public final class EventPublisher: Service, Sendable {
    enum Command: Sendable {
        case publish(topic: String, payload: [UInt8])
        case stop
    }

    /// Each broker's events-in endpoint and public key.
    public let brokers: [BrokerAddress]
    let keyPair: CurveKeyPair
    let logger: Logger
    private let mailbox: Mailbox<Command>

    public init(brokers: [BrokerAddress], keyPair: CurveKeyPair, logger: Logger) throws {
        self.brokers = brokers
        self.keyPair = keyPair
        self.logger = logger
        self.mailbox = try Mailbox()
    }

    /// Queues an event for every broker; `false` once the publisher has stopped.
    @discardableResult
    public func publish(topic: String, payload: [UInt8]) -> Bool {
        mailbox.send(.publish(topic: topic, payload: payload))
    }

    public func run() async throws {
        let thread = try await SocketThread.start(name: "event-publisher") { [self] started in
            do {
                let context = try Context()
                defer { context.shutdown() }
                var sockets: [Socket] = []
                for broker in brokers {
                    let socket = try Socket(
                        context: context, kind: .pub,
                        config: .init(security: .curveClient(keyPair: keyPair, serverKey: broker.publicKey)))
                    try socket.connect(broker.endpoint)
                    sockets.append(socket)
                }
                defer { for socket in sockets { socket.close() } }
                started.started()
                var poller = Poller()
                poller.add(fileDescriptor: mailbox.fileDescriptor)
                while true {
                    _ = try poller.poll(timeoutMillis: -1)
                    for command in mailbox.drain() {
                        switch command {
                        case .publish(let topic, let payload):
                            for socket in sockets { _ = try socket.send([Array(topic.utf8), payload], dontWait: true) }
                        case .stop:
                            return
                        }
                    }
                }
            } catch {
                logger.error("event publisher failed", metadata: ["error": "\(error)"])
                started.failed(error)
            }
        }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await thread.join()
            } onGracefulShutdown: {
                _ = self.mailbox.send(.stop)
            }
        } onCancel: {
            _ = mailbox.send(.stop)
        }
    }
}

import Foundation
import Logging
import ServiceLifecycle
import Timekeeping

/// Signs a tree head whenever the log has grown, every `interval`, and once more at shutdown
/// (after the last append). The newest head is exported as a checkpoint file every
/// `exportInterval` and at shutdown: files for copying elsewhere, not one a second.
struct TreeHeadSigner: Service {
    let store: AuditStore
    let key: TreeHeadKey
    let checkpoints: CheckpointDirectory
    let interval: Duration
    var exportInterval: Duration = .seconds(60)
    let clock: WallClock
    let logger: Logger

    func run() async throws {
        try checkpoints.prepare(publicKey: key.privateKey.publicKey)
        var lastExport: ContinuousClock.Instant?
        while !Task.isShuttingDownGracefully {
            let exporting = lastExport.map { $0.duration(to: .now) >= exportInterval } ?? true
            if await signIfGrown(export: exporting) != nil, exporting { lastExport = .now }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
        await signIfGrown(export: true)
    }

    /// Signs a head if there is anything new and, with `export`, writes the newest head's file if
    /// it is missing (an export that failed before is retried). Failures are logged and retried.
    @discardableResult
    func signIfGrown(export: Bool = true) async -> Checkpoint? {
        do {
            let key = self.key
            let signed = try await store.signNewTreeHead(
                now: clock.now.milliseconds,
                sign: { size, root, timestamp in
                    let checkpoint = try key.sign(size: size, rootHash: root, timestampMS: timestamp)
                    return (checkpoint.keyID, checkpoint.signature)
                })
            var newest = signed
            if newest == nil { newest = try await store.latestTreeHead() }
            guard let head = newest else { return nil }
            let checkpoint = Checkpoint(head, signedBy: key.privateKey.publicKey)
            if export, !checkpoints.contains(checkpoint) { try checkpoints.export(checkpoint) }
            return checkpoint
        } catch {
            logger.error("cannot sign or export a tree head", metadata: ["error": "\(error)"])
            return nil
        }
    }
}

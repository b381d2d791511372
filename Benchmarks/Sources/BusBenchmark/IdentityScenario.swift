import Authentication
import Foundation
import SecurityPrimitives

/// What authentication costs: the password KDF that dominates a login (PBKDF2-HMAC-SHA-256 at
/// the production 600,000 iterations, plus the pepper's HMAC), logins per second it allows on
/// this machine, and the local verification of a session token that every RPC pays — beside a
/// bus round trip measured in the same run.
enum IdentityScenario {
    static func run(busRoundTrip: Duration) async throws {
        let hasher = PasswordHasher(pepper: SecureRandom.bytes(32))
        let stored = hasher.hash("a long enough passphrase")
        let verifyOnce = ContinuousClock().measure { _ = hasher.verify("a long enough passphrase", against: stored) }
        var rates: [(Int, Double)] = []
        for workers in [1, ProcessInfo.processInfo.activeProcessorCount] {
            let perWorker = 6
            let elapsed = try await ContinuousClock().measure {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<workers {
                        group.addTask {
                            for _ in 0..<perWorker { _ = hasher.verify("a long enough passphrase", against: stored) }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            rates.append((workers, Double(workers * perWorker) / elapsed.seconds))
        }

        let key = Ed25519.PrivateKey.generate()
        let now = Int64(Date().timeIntervalSince1970)
        let claims = SessionClaims(
            sub: "p-1", sid: "s-1", org: "org-1", la: "E09000033", roles: ["practitioner"], iat: now, exp: now + 900,
            stepUpAt: now)
        let token = try CompactJWS.sign(payload: Array(try JSONEncoder().encode(claims)), keyID: "k1", with: key)
        let verifications = 5_000
        // Cold: a new verifier each time, so every call checks the signature and decodes the claims.
        let coldElapsed = try ContinuousClock().measure {
            for _ in 0..<verifications {
                let verifier = SessionVerifier()
                verifier.trust(keys: ["k1": key.publicKey])
                _ = try verifier.verify(token)
            }
        }
        let cold = coldElapsed / verifications
        // Warm: the same token again, as every call of a session after its first.
        let verifier = SessionVerifier()
        verifier.trust(keys: ["k1": key.publicKey])
        _ = try verifier.verify(token)
        let warmElapsed = try ContinuousClock().measure {
            for _ in 0..<(verifications * 10) { _ = try verifier.verify(token) }
        }
        let perToken = warmElapsed / (verifications * 10)

        print("identity: PBKDF2-HMAC-SHA-256, \(PasswordHasher.defaultIterations) iterations + HMAC pepper")
        print(String(format: "  one password check: %.0f ms", verifyOnce.seconds * 1000))
        for (workers, rate) in rates {
            print(String(format: "  logins/s (KDF-bound), %d in parallel: %.1f", workers, rate))
        }
        print(
            String(
                format: "  session token, first call of a token (EdDSA + claims): %.1f µs = %.1f%% of the round trip",
                cold.microseconds, 100 * cold.microseconds / busRoundTrip.microseconds))
        print(String(format: "  session token, later calls (expiry and revocation): %.2f µs", perToken.microseconds))
        print(
            String(
                format: "  bus round trip p50 in this run: %.0f µs; verification = %.1f%% of it",
                busRoundTrip.microseconds, 100 * perToken.microseconds / busRoundTrip.microseconds))
    }
}

extension Duration {
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

public import Foundation

/// The time now, injectable: services read it through this one type, the system clock in
/// production (``system``) and a clock a test sets in tests.
public struct WallClock: Sendable {
    private let read: @Sendable () -> Instant

    public init(_ read: @escaping @Sendable () -> Instant) { self.read = read }

    /// The system's real-time clock.
    public static let system = WallClock { Instant(Date()) }

    /// A clock stopped at `instant`.
    public static func fixed(_ instant: Instant) -> WallClock { WallClock { instant } }

    public var now: Instant { read() }
}

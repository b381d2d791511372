public import Foundation

/// A point in time, UTC, to the millisecond: what the services store and send (`*_ms` fields are
/// its Unix milliseconds). Identity's tables count whole seconds; ``seconds`` and
/// ``init(seconds:)`` are that conversion, named, so that no unit is converted by hand.
public struct Instant: Hashable, Comparable, Sendable {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// Whole seconds since 1970, as identity stores them and session tokens carry them.
    public init(seconds: Int64) { milliseconds = seconds * Self.millisecondsPerSecond }

    public init(_ date: Date) {
        milliseconds = Int64((date.timeIntervalSince1970 * Double(Self.millisecondsPerSecond)).rounded(.down))
    }

    /// Whole seconds since 1970 (rounded down).
    public var seconds: Int64 { milliseconds.floorDivided(by: Self.millisecondsPerSecond) }

    public var date: Date { Date(timeIntervalSince1970: Double(milliseconds) / Double(Self.millisecondsPerSecond)) }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public static func + (instant: Instant, duration: Duration) -> Instant {
        Instant(milliseconds: instant.milliseconds + duration.wholeMilliseconds)
    }

    public static func - (instant: Instant, duration: Duration) -> Instant {
        Instant(milliseconds: instant.milliseconds - duration.wholeMilliseconds)
    }

    /// How long from `earlier` to `later`.
    public static func - (later: Instant, earlier: Instant) -> Duration {
        .milliseconds(later.milliseconds - earlier.milliseconds)
    }

    static let millisecondsPerSecond: Int64 = 1000
}

extension Duration {
    /// The duration in whole milliseconds (rounded towards zero).
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * Instant.millisecondsPerSecond + attoseconds / 1_000_000_000_000_000
    }
}

/// Division rounded towards negative infinity: instants before 1970 fall in the second and day before.
extension Int64 {
    func floorDivided(by divisor: Int64) -> Int64 {
        let (quotient, remainder) = quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? quotient - 1 : quotient
    }
}

/// The `grpc-timeout` metadata value ("100m", "2S", …): GRPCCore's client writes it and its
/// server executor enforces it; on the bus it travels as `RequestHeader.timeout_micros`.
enum GRPCTimeout {
    static let key = "grpc-timeout"

    static func micros(from value: String) -> UInt64? {
        guard let unit = value.last, let amount = UInt64(value.dropLast()) else { return nil }
        let (quantity, overflow): (UInt64, Bool) =
            switch unit {
            case "H": amount.multipliedReportingOverflow(by: 3_600_000_000)
            case "M": amount.multipliedReportingOverflow(by: 60_000_000)
            case "S": amount.multipliedReportingOverflow(by: 1_000_000)
            case "m": amount.multipliedReportingOverflow(by: 1_000)
            case "u": (amount, false)
            case "n": (max(1, amount / 1_000), false)
            default: (0, true)
            }
        return overflow ? nil : quantity
    }

    /// The value for `micros`, in the finest unit that GRPCCore's server reads back: it takes
    /// at most 8 characters, unit included.
    static func value(micros: UInt64) -> String {
        let largest: UInt64 = 9_999_999
        if micros <= largest { return "\(micros)u" }
        if micros / 1_000 <= largest { return "\(micros / 1_000)m" }
        return "\(min(micros / 1_000_000, largest))S"
    }
}

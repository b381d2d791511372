/// The `grpc-timeout` metadata value ("100m", "2S", …) GRPCCore's client writes: on the bus
/// it travels as `RequestHeader.timeout_micros`, and the server's worker loop enforces it.
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
}

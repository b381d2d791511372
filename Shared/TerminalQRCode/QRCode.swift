import CQREncode

/// A QR code (ISO/IEC 18004) made by libqrencode, and drawn with Unicode half blocks so that a
/// phone's authenticator app can scan it off a terminal.
public struct QRCode: Sendable, Equatable {
    /// Modules row by row; `true` is dark.
    public let modules: [[Bool]]

    public var width: Int { modules.count }

    /// Encodes `text` as 8-bit data at error-correction level M, in the smallest version that fits.
    public init?(_ text: String) {
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { return nil }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        let data = code.pointee.data!
        modules = (0..<width).map { row in (0..<width).map { column in data[row * width + column] & 1 == 1 } }
    }

    /// Two module rows per text line, with a four-module quiet zone. Light modules are drawn as
    /// blocks, which suits the usual light-on-dark terminal: the code reads as dark on light.
    public func rendered(quietZone: Int = 4) -> String {
        let size = width + 2 * quietZone
        func isLight(_ row: Int, _ column: Int) -> Bool {
            let (r, c) = (row - quietZone, column - quietZone)
            guard (0..<width).contains(r), (0..<width).contains(c) else { return true }
            return !modules[r][c]
        }
        var lines: [String] = []
        for row in stride(from: 0, to: size, by: 2) {
            var line = ""
            for column in 0..<size {
                let top = isLight(row, column)
                let bottom = row + 1 < size ? isLight(row + 1, column) : false
                let cell: Character =
                    switch (top, bottom) {
                    case (true, true): "█"
                    case (true, false): "▀"
                    case (false, true): "▄"
                    case (false, false): " "
                    }
                line.append(cell)
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}

/// PostgreSQL's text format, both ways, for the types whose text is not simply the Swift
/// value's description.
enum PostgresText {
    /// A double as PostgreSQL's `float8in` reads it: Swift's shortest round-trip digits, and
    /// the spellings PostgreSQL uses for the special values.
    static func text(of number: Double) -> String {
        if number.isNaN { return "NaN" }
        if number.isInfinite { return number < 0 ? "-Infinity" : "Infinity" }
        return "\(number)"
    }

    /// A double from `float8out`'s text (shortest round-trip digits since PostgreSQL 12).
    static func double(_ text: String) -> Double? {
        switch text {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: return Double(text)
        }
    }

    /// Bytes from bytea's hex output, `\x` then two hex digits a byte.
    static func bytea(_ raw: [UInt8]) -> [UInt8]? {
        guard raw.count >= 2, raw[0] == UInt8(ascii: "\\"), raw[1] == UInt8(ascii: "x"), raw.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity((raw.count - 2) / 2)
        var index = 2
        while index < raw.count {
            guard let high = hexDigit(raw[index]), let low = hexDigit(raw[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func hexDigit(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return character - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Sizes written as people write them: `4096`, `512KiB`, `64MiB`, `1GiB`, `10GB`.
public enum ByteSize {
    private static let units: [(suffix: String, factor: Int)] = [
        ("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("tib", 1 << 40),
        ("kb", 1000), ("mb", 1_000_000), ("gb", 1_000_000_000), ("tb", 1_000_000_000_000),
        ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("t", 1 << 40), ("b", 1),
    ]

    public static func parse(_ text: String) throws(DFSError) -> Int {
        let trimmed = text.trimmingWhitespace().lowercased()
        var digits = Substring(trimmed)
        var factor = 1
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            digits = trimmed.dropLast(unit.suffix.count)
            factor = unit.factor
            break
        }
        let number = digits.trimmingWhitespace()
        guard !number.isEmpty, number.allSatisfy(\.isASCII), let value = Int(number), value >= 0 else {
            throw DFSError(.invalidArgument, "'\(text)' is not a size; write it like 4096, 512KiB, 64MiB or 1GiB")
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: factor)
        guard !overflow else { throw DFSError(.invalidArgument, "size '\(text)' is too large") }
        return product
    }

    /// Formats bytes for people: `0 B`, `1023 B`, `1.0 KiB`, `64.0 MiB`.
    public static func format(_ bytes: Int) -> String {
        let names = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(bytes)
        var index = 0
        while abs(value) >= 1024, index < names.count - 1 {
            value /= 1024
            index += 1
        }
        if index == 0 { return "\(bytes) B" }
        let tenths = (value * 10).rounded() / 10
        return "\(tenths) \(names[index])"
    }
}

/// Durations written as people write them: `500ms`, `3s`, `2m`, `1h`.
public enum DurationText {
    public static func parse(_ text: String) throws(DFSError) -> Duration {
        let trimmed = text.trimmingWhitespace().lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, seconds) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count)
            if let value = Double(number), value >= 0, value.isFinite, value < 1e9 {
                return .milliseconds(Int64((value * seconds * 1000).rounded()))
            }
        }
        throw DFSError(.invalidArgument, "'\(text)' is not a duration; write it like 500ms, 3s, 2m or 1h")
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> Substring {
        let scalars = Substring(self)
        guard let first = scalars.firstIndex(where: { !$0.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return scalars[first...last]
    }
}

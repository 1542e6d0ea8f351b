import Foundation

/// The time formats S3 speaks, by calendar arithmetic on UTC (Howard Hinnant's
/// days-from-civil and civil-from-days), with no time-zone database and no locale: a
/// `DateFormatter` is slow to make and formats by the process's locale unless told not to.
///
/// DFSHTTP formats its `Date` field the same way, but keeps that helper to itself and writes
/// no milliseconds; this type also reads dates back.
public enum S3Time {
    /// `2026-12-01T08:45:00.000Z`, as S3's XML documents write times (LastModified, CreationDate).
    public static func iso8601(_ date: Date) -> String {
        let time = CivilTime(milliseconds: milliseconds(date))
        return "\(four(time.year))-\(two(time.month))-\(two(time.day))T\(two(time.hour)):\(two(time.minute)):\(two(time.second))."
            + three(time.millisecond) + "Z"
    }

    /// `Tue, 01 Dec 2026 08:45:00 GMT` (IMF-fixdate, RFC 9110 §5.6.7), as `Last-Modified` is sent.
    public static func httpDate(_ date: Date) -> String {
        let time = CivilTime(milliseconds: milliseconds(date))
        return "\(shortWeekdays[time.weekday]), \(two(time.day)) \(months[time.month - 1]) \(four(time.year)) "
            + "\(two(time.hour)):\(two(time.minute)):\(two(time.second)) GMT"
    }

    /// `20261201T084500Z`, the form of `x-amz-date` and of Signature V4's request time.
    public static func amzDate(_ date: Date) -> String {
        let time = CivilTime(milliseconds: milliseconds(date))
        return "\(four(time.year))\(two(time.month))\(two(time.day))T\(two(time.hour))\(two(time.minute))\(two(time.second))Z"
    }

    /// An HTTP date in any of the three forms RFC 9110 §5.6.7 says a recipient must read:
    /// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`)
    /// and asctime (`Sun Nov  6 08:49:37 1994`); nil for anything else. An RFC 850 year that
    /// would be more than 50 years after `now` is taken from the century before, as the RFC says.
    public static func parseHTTPDate(_ text: String, now: Date = Date()) -> Date? {
        let words = text.split(separator: " ", omittingEmptySubsequences: true)
        if words.count == 6, words[5] == "GMT", words[0].hasSuffix(","), shortWeekdays.contains(String(words[0].dropLast())) {
            guard words[1].count == 2, let day = number(words[1]), let month = month(words[2]), words[3].count == 4,
                let year = number(words[3])
            else { return nil }
            return date(year: year, month: month, day: day, time: words[4])
        }
        if words.count == 4, words[3] == "GMT", words[0].hasSuffix(","), longWeekdays.contains(String(words[0].dropLast())) {
            let parts = words[1].split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0].count == 2, let day = number(parts[0]), let month = month(parts[1]), parts[2].count == 2,
                let shortYear = number(parts[2])
            else { return nil }
            let currentYear = CivilTime(milliseconds: milliseconds(now)).year
            var year = currentYear / 100 * 100 + shortYear
            if year > currentYear + 50 { year -= 100 }
            return date(year: year, month: month, day: day, time: words[2])
        }
        if words.count == 5, shortWeekdays.contains(String(words[0])) {
            guard let month = month(words[1]), (1...2).contains(words[2].count), let day = number(words[2]), words[4].count == 4,
                let year = number(words[4])
            else { return nil }
            return date(year: year, month: month, day: day, time: words[3])
        }
        return nil
    }

    /// `20261201T084500Z` back to a date; nil unless it is exactly that form and a real time.
    public static func parseAMZDate(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        guard let year = number(bytes[0..<4]), let month = number(bytes[4..<6]), let day = number(bytes[6..<8]),
            let hour = number(bytes[9..<11]), let minute = number(bytes[11..<13]), let second = number(bytes[13..<15])
        else { return nil }
        return date(year: year, month: month, day: day, hour: hour, minute: minute, second: second, millisecond: 0)
    }

    /// `2026-12-01T08:45:00.000Z` (the milliseconds optional) back to a date, or nil.
    public static func parseISO8601(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 20 || bytes.count == 24, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            bytes[bytes.count - 1] == UInt8(ascii: "Z")
        else { return nil }
        guard let year = number(bytes[0..<4]), let month = number(bytes[5..<7]), let day = number(bytes[8..<10]),
            let hour = number(bytes[11..<13]), let minute = number(bytes[14..<16]), let second = number(bytes[17..<19])
        else { return nil }
        var millisecond = 0
        if bytes.count == 24 {
            guard bytes[19] == UInt8(ascii: "."), let value = number(bytes[20..<23]) else { return nil }
            millisecond = value
        }
        return date(year: year, month: month, day: day, hour: hour, minute: minute, second: second, millisecond: millisecond)
    }

    // MARK: Arithmetic

    static let shortWeekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let longWeekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Milliseconds since 1970 of the years 0000 and 9999's ends: the formats have four-digit
    /// years, so a date outside is written as the nearest one inside.
    static let millisecondsMin = -62_167_219_200_000
    static let millisecondsMax = 253_402_300_799_999

    /// `date` to the nearest millisecond since 1970, within the four-digit years.
    static func milliseconds(_ date: Date) -> Int {
        let value = (date.timeIntervalSince1970 * 1000).rounded()
        guard value.isFinite else { return value > 0 ? millisecondsMax : millisecondsMin }
        return Int(min(max(value, Double(millisecondsMin)), Double(millisecondsMax)))
    }

    /// A calendar date and time of day in UTC.
    struct CivilTime {
        var year: Int
        var month: Int
        var day: Int
        var hour: Int
        var minute: Int
        var second: Int
        var millisecond: Int
        /// 0 is Sunday.
        var weekday: Int

        init(milliseconds: Int) {
            let days = S3Time.floorDivide(milliseconds, 86_400_000)
            let millisecondOfDay = milliseconds - days * 86_400_000
            (year, month, day) = S3Time.civil(days: days)
            hour = millisecondOfDay / 3_600_000
            minute = millisecondOfDay / 60_000 % 60
            second = millisecondOfDay / 1000 % 60
            millisecond = millisecondOfDay % 1000
            // 1970-01-01 was a Thursday.
            weekday = ((days % 7) + 7 + 4) % 7
        }
    }

    static func floorDivide(_ value: Int, _ divisor: Int) -> Int {
        value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
    }

    /// Days since 1970-01-01 to year, month and day (proleptic Gregorian).
    static func civil(days: Int) -> (Int, Int, Int) {
        let shifted = days + 719_468
        let era = floorDivide(shifted, 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Year, month and day to days since 1970-01-01 (proleptic Gregorian).
    static func days(year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = floorDivide(shiftedYear, 400)
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// The date of a calendar time, or nil when a field is out of range. A leap second (:60)
    /// is read as the first second of the next minute.
    static func date(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int) -> Date? {
        guard (0...9999).contains(year), (1...12).contains(month), (1...daysInMonth(year: year, month: month)).contains(day),
            (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second), (0...999).contains(millisecond)
        else { return nil }
        let seconds = days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
        return Date(timeIntervalSince1970: Double(seconds) + Double(millisecond) / 1000)
    }

    /// The date of a calendar day and an `HH:MM:SS` time, or nil.
    static func date(year: Int, month: Int, day: Int, time: Substring) -> Date? {
        let bytes = Array(time.utf8)
        guard bytes.count == 8, bytes[2] == UInt8(ascii: ":"), bytes[5] == UInt8(ascii: ":"), let hour = number(bytes[0..<2]),
            let minute = number(bytes[3..<5]), let second = number(bytes[6..<8])
        else { return nil }
        return date(year: year, month: month, day: day, hour: hour, minute: minute, second: second, millisecond: 0)
    }

    static func month(_ name: Substring) -> Int? {
        months.firstIndex(of: String(name)).map { $0 + 1 }
    }

    /// A run of 1 to 4 ASCII digits as a number; nil for anything else (no sign, no spaces).
    static func number<Digits: Collection<UInt8>>(_ digits: Digits) -> Int? {
        guard (1...4).contains(digits.count) else { return nil }
        var value = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(digit - UInt8(ascii: "0"))
        }
        return value
    }

    static func number(_ digits: Substring) -> Int? { number(Array(digits.utf8)) }

    static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
    static func three(_ value: Int) -> String { value < 10 ? "00\(value)" : value < 100 ? "0\(value)" : "\(value)" }
    static func four(_ value: Int) -> String { String(repeating: "0", count: max(0, 4 - String(value).count)) + String(value) }
}

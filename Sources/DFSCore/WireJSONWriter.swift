/// A type that writes its own JSON: the replies a busy meta server sends most (`getFileOK`,
/// `getFilesOK`), where going through `Encodable` (boxed containers, a generic call per
/// field) was half of the server's time for each path it answered.
///
/// What `write(to:)` writes must be exactly what ``WireJSONEncoder`` writes for the same
/// value through `encode(to:)` (same keys, same order, nil fields left out); the tests
/// compare the two on every conforming type.
public protocol WireJSONWritable: Encodable {
    func write(to json: inout WireJSONWriter)
}

/// Appends JSON to a byte buffer by hand: the caller says where objects and arrays begin and
/// end, and the writer puts the commas in.
public struct WireJSONWriter {
    public var bytes: [UInt8]
    /// A value was just written: the next key or element needs a comma before it.
    private var afterValue = false

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        afterValue = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        afterValue = true
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        afterValue = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        afterValue = true
    }

    /// An object's key; `name` is plain ASCII without quotes or backslashes.
    public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Self.quoteColon)
        afterValue = false
    }

    /// An object's key of any text, escaped as a string is.
    public mutating func key(text name: String) {
        separate()
        JSONText.appendString(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        afterValue = false
    }

    public mutating func string(_ text: String) {
        separate()
        JSONText.appendString(text, to: &bytes)
        afterValue = true
    }

    public mutating func integer<I: BinaryInteger>(_ number: I) {
        separate()
        JSONText.appendInteger(number, to: &bytes)
        afterValue = true
    }

    /// A finite number, as ``WireJSONEncoder`` writes a `Double`; NaN and infinities, which
    /// JSON cannot hold, are written as 0 (no field written this way can be either).
    public mutating func double(_ number: Double) {
        separate()
        JSONText.appendDouble(number.isFinite ? number : 0, to: &bytes)
        afterValue = true
    }

    public mutating func bool(_ flag: Bool) {
        separate()
        JSONText.appendBool(flag, to: &bytes)
        afterValue = true
    }

    /// A value of a type that writes itself.
    public mutating func value<T: WireJSONWritable>(_ value: T) {
        value.write(to: &self)
    }

    public mutating func array<T: WireJSONWritable>(_ values: [T]) {
        beginArray()
        for value in values { value.write(to: &self) }
        endArray()
    }

    private mutating func separate() {
        if afterValue { bytes.append(UInt8(ascii: ",")) }
    }

    private static let quoteColon: [UInt8] = [UInt8(ascii: "\""), UInt8(ascii: ":")]
}

/// The pieces both JSON writers share.
enum JSONText {
    static func appendInteger<I: BinaryInteger>(_ number: I, to bytes: inout [UInt8]) {
        if number == 0 {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        var magnitude = number.magnitude
        if number < 0 { bytes.append(UInt8(ascii: "-")) }
        let start = bytes.count
        while magnitude > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10))
            magnitude /= 10
        }
        bytes[start...].reverse()
    }

    /// A finite double: whole numbers below 10^15 without a fraction, others as Swift prints
    /// them (shortest text that reads back to the same value).
    static func appendDouble(_ number: Double, to bytes: inout [UInt8]) {
        if number == number.rounded(), abs(number) < 1e15 {
            appendInteger(Int64(number), to: &bytes)
        } else {
            bytes.append(contentsOf: number.description.utf8)
        }
    }

    /// A JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8.
    static func appendString(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var runStart = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                runStart = index + 1
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                default:
                    bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    bytes.append(hexDigits[Int(byte >> 4)])
                    bytes.append(hexDigits[Int(byte & 0x0F)])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    static func appendBool(_ flag: Bool, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: flag ? trueBytes : falseBytes)
    }

    static let hexDigits = Array("0123456789abcdef".utf8)
    private static let trueBytes = Array("true".utf8)
    private static let falseBytes = Array("false".utf8)
}

import Foundation

/// Decodes a message from JSON bytes off the wire.
///
/// Foundation's `JSONDecoder` took about 28 µs for a `getFileOK` of 339 bytes, the largest
/// part of a client's CPU per `stat` once the round trip's hand-offs were cut. This decoder
/// parses the bytes once into a flat list of values (``JSONTape``), each container followed
/// by its elements and knowing where it ends, then hands the type's `init(from:)` containers
/// that read from that list.
///
/// It is strict where JSON is (RFC 8259: no trailing commas, no leading zeros, no control
/// characters in strings, valid UTF-8, no lone surrogates, nothing after the value) and
/// bounded: nesting deeper than ``depthMax`` is refused before it can exhaust the stack. Its
/// errors are the `DecodingError`s `JSONDecoder` throws (a missing key, a wrong type with its
/// coding path, a value a type refuses), so callers describe them the same way. Of two equal
/// keys in one object the first counts, as with `JSONDecoder`. Unlike it, a trailing comma
/// is refused too. Types Foundation decodes its
/// own way (`Data`, `Date`, `URL`, `Decimal`) are not supported: the wire carries none.
public enum WireJSONDecoder {
    /// Arrays and objects nested deeper than this are refused (as `JSONDecoder` does at 512).
    public static let depthMax = 512

    public static func decode<T: Decodable>(_: T.Type, from bytes: [UInt8]) throws -> T {
        let tape = try JSONTape(bytes)
        return try T(from: TapeDecoder(tape: tape, index: 0, codingPath: []))
    }
}

/// Parsed JSON: one entry per value, in document order. An array's or object's entry is
/// followed by its elements (an object's as key, value, key, value...) and records the index
/// just past its last element, so a reader can skip a whole value in one step.
final class JSONTape {
    enum Kind: UInt8 {
        case null, bool, number, string, array, object
    }

    struct Entry {
        var kind: Kind
        /// bool: 1 for true. string: 1 when it holds escapes.
        var flag: UInt8 = 0
        /// number, string: where its text is in `bytes` (a string's without its quotes).
        var start: Int32 = 0
        var end: Int32 = 0
        /// array, object: elements (an object's keys and values together), and the index after the last.
        var count: Int32 = 0
        var next: Int32 = 0
    }

    let bytes: [UInt8]
    /// Never changed once parsed: a `let`, so reading it needs no exclusivity check.
    let entries: [Entry]

    init(_ bytes: [UInt8]) throws {
        self.bytes = bytes
        entries = try bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(bytes: buffer)
            parser.entries.reserveCapacity(buffer.count / 6 + 1)
            parser.skipSpace()
            try parser.value(depth: 0)
            parser.skipSpace()
            guard parser.position == buffer.count else { throw parser.corrupted("unexpected bytes after the JSON value") }
            return parser.entries
        }
    }

    /// The index after the value at `index` and everything inside it.
    func after(_ index: Int) -> Int {
        let entry = entries[index]
        return entry.kind == .array || entry.kind == .object ? Int(entry.next) : index + 1
    }

    /// The string at `index`, unescaped and checked to be valid UTF-8.
    func string(at index: Int) throws -> String {
        let entry = entries[index]
        let text = bytes[Int(entry.start)..<Int(entry.end)]
        if entry.flag == 0 {
            guard let string = String(validating: text, as: UTF8.self) else { throw JSONParser.invalidUTF8 }
            return string
        }
        var unescaped: [UInt8] = []
        unescaped.reserveCapacity(text.count)
        var position = text.startIndex
        while position < text.endIndex {
            let byte = text[position]
            guard byte == UInt8(ascii: "\\") else {
                unescaped.append(byte)
                position += 1
                continue
            }
            let code = text[position + 1]
            position += 2
            switch code {
            case UInt8(ascii: "b"): unescaped.append(0x08)
            case UInt8(ascii: "f"): unescaped.append(0x0C)
            case UInt8(ascii: "n"): unescaped.append(0x0A)
            case UInt8(ascii: "r"): unescaped.append(0x0D)
            case UInt8(ascii: "t"): unescaped.append(0x09)
            case UInt8(ascii: "u"):
                // Checked by the parser: four hex digits, surrogates paired.
                var scalar = Self.hex(text, position)
                position += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    let low = Self.hex(text, position + 2)
                    position += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                unescaped.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
            default: unescaped.append(code)
            }
        }
        guard let string = String(validating: unescaped, as: UTF8.self) else { throw JSONParser.invalidUTF8 }
        return string
    }

    static func hex(_ text: ArraySlice<UInt8>, _ position: Int) -> UInt32 {
        var value: UInt32 = 0
        for byte in text[position..<(position + 4)] { value = value << 4 | UInt32(JSONParser.hexValue(byte)!) }
        return value
    }

    /// Whether the key at `index` is `name`, without building a String when it has no escapes.
    func key(at index: Int, is name: String) -> Bool {
        let entry = entries[index]
        if entry.flag != 0 { return (try? string(at: index)) == name }
        var name = name
        return name.withUTF8 { utf8 in
            bytes.withUnsafeBufferPointer { buffer in
                let length = Int(entry.end - entry.start)
                guard length == utf8.count else { return false }
                return length == 0 || memcmp(buffer.baseAddress! + Int(entry.start), utf8.baseAddress!, length) == 0
            }
        }
    }

    /// The number's text at `index`.
    func numberText(at index: Int) -> ArraySlice<UInt8> {
        bytes[Int(entries[index].start)..<Int(entries[index].end)]
    }
}

/// The parser that fills a tape, by recursive descent with a depth limit.
private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var entries: [JSONTape.Entry] = []
    var position = 0

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    private mutating func append(_ entry: JSONTape.Entry) -> Int {
        entries.append(entry)
        return entries.count - 1
    }

    private mutating func finish(_ container: Int, count: Int) {
        entries[container].count = Int32(count)
        entries[container].next = Int32(entries.count)
    }

    static let invalidUTF8 = DecodingError.dataCorrupted(DecodingError.Context(codingPath: [], debugDescription: "invalid UTF-8 in a string"))

    func corrupted(_ what: String) -> DecodingError {
        DecodingError.dataCorrupted(DecodingError.Context(codingPath: [], debugDescription: "invalid JSON at byte \(position): \(what)"))
    }

    mutating func skipSpace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws {
        guard position < bytes.count else { throw corrupted("unexpected end") }
        switch bytes[position] {
        case UInt8(ascii: "{"): try object(depth: depth + 1)
        case UInt8(ascii: "["): try array(depth: depth + 1)
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "t"): try literal("true", .bool, flag: 1)
        case UInt8(ascii: "f"): try literal("false", .bool, flag: 0)
        case UInt8(ascii: "n"): try literal("null", .null, flag: 0)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw corrupted("unexpected character")
        }
    }

    private mutating func literal(_ text: StaticString, _ kind: JSONTape.Kind, flag: UInt8) throws {
        let length = text.utf8CodeUnitCount
        guard position + length <= bytes.count, memcmp(bytes.baseAddress! + position, text.utf8Start, length) == 0 else {
            throw corrupted("unexpected character")
        }
        position += length
        _ = append(JSONTape.Entry(kind: kind, flag: flag))
    }

    private mutating func object(depth: Int) throws {
        try container(.object, closedBy: UInt8(ascii: "}"), depth: depth) { parser in
            guard parser.position < parser.bytes.count, parser.bytes[parser.position] == UInt8(ascii: "\"") else {
                throw parser.corrupted("expected a key")
            }
            try parser.string()
            parser.skipSpace()
            guard parser.position < parser.bytes.count, parser.bytes[parser.position] == UInt8(ascii: ":") else {
                throw parser.corrupted("expected ':'")
            }
            parser.position += 1
            parser.skipSpace()
            try parser.value(depth: depth)
            return 2
        }
    }

    private mutating func array(depth: Int) throws {
        try container(.array, closedBy: UInt8(ascii: "]"), depth: depth) { parser in
            try parser.value(depth: depth)
            return 1
        }
    }

    /// An array or object: its entry, then elements separated by commas (each read by
    /// `element`, which returns how many entries it added: a value, or a key and a value)
    /// up to `close`.
    private mutating func container(
        _ kind: JSONTape.Kind, closedBy close: UInt8, depth: Int, element: (inout JSONParser) throws -> Int
    ) throws {
        guard depth <= WireJSONDecoder.depthMax else { throw corrupted("nested too deep") }
        let container = append(JSONTape.Entry(kind: kind))
        position += 1
        skipSpace()
        var count = 0
        if position < bytes.count, bytes[position] == close {
            position += 1
            finish(container, count: 0)
            return
        }
        while true {
            count += try element(&self)
            skipSpace()
            guard position < bytes.count else { throw corrupted("unexpected end") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
                skipSpace()
                continue
            }
            guard bytes[position] == close else { throw corrupted("expected ',' or '\(Character(Unicode.Scalar(close)))'") }
            position += 1
            finish(container, count: count)
            return
        }
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private mutating func hexQuad() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw corrupted("unexpected end in a \\u escape") }
        var value: UInt32 = 0
        for offset in 0..<4 {
            guard let digit = Self.hexValue(bytes[position + offset]) else { throw corrupted("bad \\u escape") }
            value = value << 4 | UInt32(digit)
        }
        position += 4
        return value
    }

    private mutating func string() throws {
        position += 1
        let start = position
        var escaped: UInt8 = 0
        while true {
            guard position < bytes.count else { throw corrupted("unterminated string") }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") { break }
            guard byte >= 0x20 else { throw corrupted("control character in a string") }
            guard byte == UInt8(ascii: "\\") else {
                position += 1
                continue
            }
            escaped = 1
            position += 1
            guard position < bytes.count else { throw corrupted("unterminated string") }
            let code = bytes[position]
            position += 1
            switch code {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
                UInt8(ascii: "r"), UInt8(ascii: "t"):
                continue
            case UInt8(ascii: "u"):
                let unit = try hexQuad()
                if (0xDC00...0xDFFF).contains(unit) { throw corrupted("lone low surrogate") }
                if (0xD800...0xDBFF).contains(unit) {
                    guard position + 2 <= bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                        throw corrupted("lone high surrogate")
                    }
                    position += 2
                    guard (0xDC00...0xDFFF).contains(try hexQuad()) else { throw corrupted("lone high surrogate") }
                }
            default:
                throw corrupted("bad escape")
            }
        }
        _ = append(JSONTape.Entry(kind: .string, flag: escaped, start: Int32(start), end: Int32(position)))
        position += 1
    }

    private mutating func digits() -> Int {
        let start = position
        while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
        return position - start
    }

    private mutating func number() throws {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count else { throw corrupted("unexpected end in a number") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else if digits() == 0 {
            throw corrupted("bad number")
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw corrupted("bad number") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw corrupted("bad number") }
        }
        _ = append(JSONTape.Entry(kind: .number, start: Int32(start), end: Int32(position)))
    }
}

/// A key for coding paths: an array's position, or a key found in the document.
private struct PathKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        self.stringValue = "Index \(intValue)"
        self.intValue = intValue
    }
}

/// A coding path as a chain from the innermost container out: one node per container
/// opened, and an array only when an error asks for it.
private final class PathNode {
    let parent: PathNode?
    let key: any CodingKey

    init(parent: PathNode?, key: any CodingKey) {
        self.parent = parent
        self.key = key
    }

    static func path(_ node: PathNode?, then key: (any CodingKey)?) -> [any CodingKey] {
        var keys: [any CodingKey] = key.map { [$0] } ?? []
        var node = node
        while let current = node {
            keys.append(current.key)
            node = current.parent
        }
        return keys.reversed()
    }
}

/// The `Decoder` for the value at one entry of a tape.
private struct TapeDecoder: Decoder {
    let tape: JSONTape
    let index: Int
    /// The container this value is in, and its key there.
    let parent: PathNode?
    let key: (any CodingKey)?
    var codingPath: [any CodingKey] { PathNode.path(parent, then: key) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(tape: JSONTape, index: Int, codingPath: [any CodingKey]) {
        self.init(tape: tape, index: index, parent: nil, key: nil)
    }

    init(tape: JSONTape, index: Int, parent: PathNode?, key: (any CodingKey)?) {
        self.tape = tape
        self.index = index
        self.parent = parent
        self.key = key
    }

    /// The path node for containers opened on this value.
    var node: PathNode? { key.map { PathNode(parent: parent, key: $0) } ?? parent }

    func container<Key: CodingKey>(keyedBy: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let entry = tape.entries[index]
        guard entry.kind == .object else {
            throw mismatch([String: Any].self, "expected an object", entry)
        }
        return KeyedDecodingContainer(TapeKeyedContainer<Key>(tape: tape, object: index, node: node))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let entry = tape.entries[index]
        guard entry.kind == .array else {
            throw mismatch([Any].self, "expected an array", entry)
        }
        return TapeUnkeyedContainer(tape: tape, array: index, node: node)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        TapeSingleValue(decoder: self)
    }

    func mismatch(_ type: Any.Type, _ what: String, _ entry: JSONTape.Entry) -> DecodingError {
        if entry.kind == .null {
            return DecodingError.valueNotFound(type, DecodingError.Context(codingPath: codingPath, debugDescription: "\(what), found null"))
        }
        return DecodingError.typeMismatch(type, DecodingError.Context(codingPath: codingPath, debugDescription: "\(what), found \(entry.kind)"))
    }

    /// The value at this entry as `T`: primitives read here, anything else by its `init(from:)`.
    func decode<T: Decodable>(_: T.Type) throws -> T {
        // Compared by identity: a failed `is` cast per primitive type costs more, and every
        // nested struct would pay for all of them.
        let type = ObjectIdentifier(T.self)
        if type == ObjectIdentifier(String.self) { return unsafeBitCast(try decodeString(), to: T.self) }
        if type == ObjectIdentifier(Int.self) { return unsafeBitCast(try integer(Int.self), to: T.self) }
        if type == ObjectIdentifier(Bool.self) { return unsafeBitCast(try decodeBool(), to: T.self) }
        if type == ObjectIdentifier(Int64.self) { return unsafeBitCast(try integer(Int64.self), to: T.self) }
        if type == ObjectIdentifier(UInt64.self) { return unsafeBitCast(try integer(UInt64.self), to: T.self) }
        if type == ObjectIdentifier(UInt32.self) { return unsafeBitCast(try integer(UInt32.self), to: T.self) }
        if type == ObjectIdentifier(Double.self) { return unsafeBitCast(try decodeDouble(), to: T.self) }
        if type == ObjectIdentifier(Int32.self) { return unsafeBitCast(try integer(Int32.self), to: T.self) }
        if type == ObjectIdentifier(UInt16.self) { return unsafeBitCast(try integer(UInt16.self), to: T.self) }
        if type == ObjectIdentifier(Int16.self) { return unsafeBitCast(try integer(Int16.self), to: T.self) }
        if type == ObjectIdentifier(UInt8.self) { return unsafeBitCast(try integer(UInt8.self), to: T.self) }
        if type == ObjectIdentifier(Int8.self) { return unsafeBitCast(try integer(Int8.self), to: T.self) }
        if type == ObjectIdentifier(UInt.self) { return unsafeBitCast(try integer(UInt.self), to: T.self) }
        if type == ObjectIdentifier(Float.self) { return unsafeBitCast(Float(try decodeDouble()), to: T.self) }
        return try T(from: self)
    }

    func decodeString() throws -> String {
        let entry = tape.entries[index]
        guard entry.kind == .string else { throw mismatch(String.self, "expected a string", entry) }
        do {
            return try tape.string(at: index)
        } catch {
            throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: codingPath, debugDescription: "invalid UTF-8 in a string"))
        }
    }

    func decodeBool() throws -> Bool {
        let entry = tape.entries[index]
        guard entry.kind == .bool else { throw mismatch(Bool.self, "expected true or false", entry) }
        return entry.flag == 1
    }

    func decodeDouble() throws -> Double {
        let entry = tape.entries[index]
        guard entry.kind == .number else { throw mismatch(Double.self, "expected a number", entry) }
        let text = String(decoding: tape.numberText(at: index), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: codingPath, debugDescription: "number \(text) does not fit in Double"))
        }
        return value
    }

    /// An integer: digits read exactly; a number with a fraction or an exponent only when it
    /// is a whole number that fits.
    func integer<I: FixedWidthInteger>(_: I.Type) throws -> I {
        let entry = tape.entries[index]
        guard entry.kind == .number else { throw mismatch(I.self, "expected a number", entry) }
        let text = tape.numberText(at: index)
        let negative = text.first == UInt8(ascii: "-")
        let digits = negative ? text.dropFirst() : text
        func doesNotFit() -> DecodingError {
            DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: codingPath, debugDescription: "number \(String(decoding: text, as: UTF8.self)) does not fit in \(I.self)"))
        }
        if digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            var value: I = 0
            for digit in digits {
                let (times, overflow) = value.multipliedReportingOverflow(by: 10)
                let (sum, carry) =
                    negative
                    ? times.subtractingReportingOverflow(I(digit - UInt8(ascii: "0")))
                    : times.addingReportingOverflow(I(digit - UInt8(ascii: "0")))
                guard !overflow, !carry else { throw doesNotFit() }
                value = sum
            }
            return value
        }
        guard let double = Double(String(decoding: text, as: UTF8.self)), double == double.rounded(), let value = I(exactly: double) else {
            throw doesNotFit()
        }
        return value
    }
}

private struct TapeKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let tape: JSONTape
    let object: Int
    let node: PathNode?
    var codingPath: [any CodingKey] { PathNode.path(node, then: nil) }
    /// For objects of many keys, each key's value: looking a key up by scanning would make
    /// decoding a dictionary quadratic in its size, which a peer could use to stall a server.
    private let index: [String: Int]?

    init(tape: JSONTape, object: Int, node: PathNode?) {
        self.tape = tape
        self.object = object
        self.node = node
        guard tape.entries[object].count > 32 else {
            index = nil
            return
        }
        var index: [String: Int] = [:]
        var position = object + 1
        let end = Int(tape.entries[object].next)
        while position < end {
            // A key that is not valid UTF-8 matches no key.
            if let name = try? tape.string(at: position), index[name] == nil { index[name] = position + 1 }
            position = tape.after(position + 1)
        }
        self.index = index
    }

    /// The index of the value of the first `key` in the object, if any.
    private func find(_ key: Key) -> Int? {
        if let index { return index[key.stringValue] }
        var position = object + 1
        let end = Int(tape.entries[object].next)
        let name = key.stringValue
        while position < end {
            let value = position + 1
            if tape.key(at: position, is: name) { return value }
            position = tape.after(value)
        }
        return nil
    }

    var allKeys: [Key] {
        var keys: [Key] = []
        var position = object + 1
        let end = Int(tape.entries[object].next)
        while position < end {
            if let name = try? tape.string(at: position), let key = Key(stringValue: name) { keys.append(key) }
            position = tape.after(position + 1)
        }
        return keys
    }

    func contains(_ key: Key) -> Bool { find(key) != nil }

    private func decoder(_ key: Key) throws -> TapeDecoder {
        guard let value = find(key) else {
            throw DecodingError.keyNotFound(key, DecodingError.Context(codingPath: codingPath, debugDescription: "no value for '\(key.stringValue)'"))
        }
        return TapeDecoder(tape: tape, index: value, parent: node, key: key)
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let value = find(key) else {
            throw DecodingError.keyNotFound(key, DecodingError.Context(codingPath: codingPath, debugDescription: "no value for '\(key.stringValue)'"))
        }
        return tape.entries[value].kind == .null
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try decoder(key).decode(T.self) }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decoder(key).decodeBool() }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decoder(key).decodeString() }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decoder(key).decodeDouble() }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try decoder(key).decodeDouble()) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decoder(key).integer(Int.self) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decoder(key).integer(Int8.self) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decoder(key).integer(Int16.self) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decoder(key).integer(Int32.self) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decoder(key).integer(Int64.self) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decoder(key).integer(UInt.self) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decoder(key).integer(UInt8.self) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decoder(key).integer(UInt16.self) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decoder(key).integer(UInt32.self) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decoder(key).integer(UInt64.self) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        TapeDecoder(tape: tape, index: object, parent: node, key: nil)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        try decoder(key)
    }
}

private struct TapeUnkeyedContainer: UnkeyedDecodingContainer {
    let tape: JSONTape
    let node: PathNode?
    var codingPath: [any CodingKey] { PathNode.path(node, then: nil) }
    let count: Int?
    private(set) var currentIndex = 0
    /// The tape index of the next element.
    private var position: Int

    init(tape: JSONTape, array: Int, node: PathNode?) {
        self.tape = tape
        self.node = node
        self.count = Int(tape.entries[array].count)
        self.position = array + 1
    }

    var isAtEnd: Bool { currentIndex >= count! }

    /// The decoder of the next element, moving past it.
    private mutating func next<T>(_ type: T.Type) throws -> TapeDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type, DecodingError.Context(codingPath: codingPath + [PathKey(intValue: currentIndex)], debugDescription: "the array has no more elements"))
        }
        let decoder = TapeDecoder(tape: tape, index: position, parent: node, key: PathKey(intValue: currentIndex))
        position = tape.after(position)
        currentIndex += 1
        return decoder
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Any?.self, DecodingError.Context(codingPath: codingPath, debugDescription: "the array has no more elements"))
        }
        guard tape.entries[position].kind == .null else { return false }
        position += 1
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(T.self).decode(T.self) }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type).decodeBool() }
    mutating func decode(_ type: String.Type) throws -> String { try next(type).decodeString() }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(type).decodeDouble() }
    mutating func decode(_ type: Float.Type) throws -> Float { Float(try next(type).decodeDouble()) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(type).integer(Int.self) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type).integer(Int8.self) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type).integer(Int16.self) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type).integer(Int32.self) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type).integer(Int64.self) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type).integer(UInt.self) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type).integer(UInt8.self) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type).integer(UInt16.self) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type).integer(UInt32.self) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type).integer(UInt64.self) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next(type).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next([Any].self).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        try next(Any.self)
    }
}

private struct TapeSingleValue: SingleValueDecodingContainer {
    let decoder: TapeDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool { decoder.tape.entries[decoder.index].kind == .null }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decode(T.self) }
    func decode(_ type: Bool.Type) throws -> Bool { try decoder.decodeBool() }
    func decode(_ type: String.Type) throws -> String { try decoder.decodeString() }
    func decode(_ type: Double.Type) throws -> Double { try decoder.decodeDouble() }
    func decode(_ type: Float.Type) throws -> Float { Float(try decoder.decodeDouble()) }
    func decode(_ type: Int.Type) throws -> Int { try decoder.integer(Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decoder.integer(Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decoder.integer(Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decoder.integer(Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decoder.integer(Int64.self) }
    func decode(_ type: UInt.Type) throws -> UInt { try decoder.integer(UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.integer(UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.integer(UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.integer(UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.integer(UInt64.self) }
}

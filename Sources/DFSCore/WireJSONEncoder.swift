import Foundation

/// Encodes a message as JSON straight into bytes, for the wire.
///
/// Foundation's `JSONEncoder` first builds a tree of every value (dictionaries, arrays,
/// boxed numbers), then writes it out: for a `getFileOK` of a few hundred bytes that took
/// about 24 µs, as much as the rest of a request's work on the meta server. This encoder
/// writes each value as the type's `encode(to:)` hands it over, in one growing buffer.
///
/// That works as long as containers are used in the order they nest, which synthesized
/// `Codable` and every message's own `encode(to:)` do: a container is closed when its parent
/// takes its next element, or when the value it belongs to is done. A use out of that order
/// (writing to a container after its parent moved on, a `superEncoder`) or a type that
/// Foundation encodes in its own way (`Data`, `Date`, `URL`, `Decimal`) is noticed, and the
/// message is encoded by `JSONEncoder` instead, so the output is always what the wire's
/// decoders read. Keys come in the order the type encodes them, not sorted.
public enum WireJSONEncoder {
    /// Appends the JSON of `value` to `bytes`. Returns false, leaving `bytes` as they were,
    /// when the value needs Foundation's encoder (see above); throws what the value's own
    /// `encode(to:)` throws, and for numbers JSON cannot hold (NaN, infinities).
    public static func encode<T: Encodable>(_ value: T, into bytes: inout [UInt8]) throws -> Bool {
        let start = bytes.count
        let writer = JSONStreamWriter(bytes: bytes)
        bytes = []
        defer { bytes = writer.bytes }
        try writer.value(value)
        writer.close(to: 0)
        if writer.failed {
            writer.bytes.removeSubrange(start...)
            return false
        }
        return true
    }
}

/// The buffer and the stack of open containers.
final class JSONStreamWriter {
    struct Open {
        let id: Int
        let array: Bool
        var elements = 0
    }

    var bytes: [UInt8]
    var stack: [Open] = []
    var nextID = 0
    /// Set when the value cannot be written in one pass (see ``WireJSONEncoder``).
    var failed = false

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Writes one value at the current position (after a key, an element's comma, or at the start).
    func value<T: Encodable>(_ value: T) throws {
        // Types are told apart by their metadata, not by `as?`: a dynamic cast per candidate
        // type and per value was a tenth of a busy meta server's time.
        let type = ObjectIdentifier(T.self)
        if type == ObjectIdentifier(String.self) {
            string(unsafeBitCast(value, to: String.self))
        } else if type == ObjectIdentifier(Int.self) {
            integer(unsafeBitCast(value, to: Int.self))
        } else if type == ObjectIdentifier(Bool.self) {
            JSONText.appendBool(unsafeBitCast(value, to: Bool.self), to: &bytes)
        } else if type == ObjectIdentifier(Int64.self) {
            integer(unsafeBitCast(value, to: Int64.self))
        } else if type == ObjectIdentifier(UInt32.self) {
            integer(unsafeBitCast(value, to: UInt32.self))
        } else if type == ObjectIdentifier(UInt64.self) {
            integer(unsafeBitCast(value, to: UInt64.self))
        } else if type == ObjectIdentifier(Double.self) {
            try double(unsafeBitCast(value, to: Double.self))
        } else if type == ObjectIdentifier(Data.self) || type == ObjectIdentifier(Date.self) || type == ObjectIdentifier(URL.self)
            || type == ObjectIdentifier(Decimal.self) || type == ObjectIdentifier(Float.self)
        {
            failed = true
        } else {
            let depth = stack.count
            let before = bytes.count
            try value.encode(to: JSONStreamEncoder(writer: self))
            // A value that wrote nothing is an empty object, as JSONEncoder writes it.
            if bytes.count == before && stack.count == depth { bytes.append(contentsOf: Self.emptyObject) }
            close(to: depth)
        }
    }

    /// Opens a container at the current position.
    func open(array: Bool) -> Int {
        nextID += 1
        stack.append(Open(id: nextID, array: array))
        bytes.append(array ? UInt8(ascii: "[") : UInt8(ascii: "{"))
        return nextID
    }

    /// Closes every container above `depth`.
    func close(to depth: Int) {
        while stack.count > depth {
            bytes.append(stack.removeLast().array ? UInt8(ascii: "]") : UInt8(ascii: "}"))
        }
    }

    /// Starts the next element of container `id`: closes what was opened inside it since,
    /// then writes the comma and the key. False (and `failed` set) when `id` is no longer
    /// open: it was used after its parent moved on.
    func element(of id: Int, key: String?) -> Bool {
        guard !failed, let position = stack.lastIndex(where: { $0.id == id }) else {
            failed = true
            return false
        }
        close(to: position + 1)
        if stack[position].elements > 0 { bytes.append(UInt8(ascii: ",")) }
        stack[position].elements += 1
        if let key {
            string(key)
            bytes.append(UInt8(ascii: ":"))
        }
        return true
    }

    func null() {
        bytes.append(contentsOf: Self.nullBytes)
    }

    func integer<I: BinaryInteger>(_ number: I) {
        JSONText.appendInteger(number, to: &bytes)
    }

    func double(_ number: Double) throws {
        guard number.isFinite else {
            throw EncodingError.invalidValue(number, EncodingError.Context(codingPath: [], debugDescription: "\(number) is not a JSON number"))
        }
        JSONText.appendDouble(number, to: &bytes)
    }

    func string(_ text: String) {
        JSONText.appendString(text, to: &bytes)
    }

    static let nullBytes = Array("null".utf8)
    static let emptyObject = Array("{}".utf8)
}

/// The `Encoder` a value writes itself to: each container it asks for is opened in place.
struct JSONStreamEncoder: Encoder {
    let writer: JSONStreamWriter
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(JSONStreamKeyedContainer<Key>(writer: writer, id: writer.open(array: false)))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        JSONStreamUnkeyedContainer(writer: writer, id: writer.open(array: true))
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        JSONStreamSingleValue(writer: writer)
    }
}

struct JSONStreamKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: JSONStreamWriter
    let id: Int
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws {
        if writer.element(of: id, key: key.stringValue) { writer.null() }
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        if writer.element(of: id, key: key.stringValue) { try writer.value(value) }
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: String, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try put(Int(value), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try put(Int(value), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try put(Int(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try put(UInt64(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try put(Int(value), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try put(Int(value), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try put(value, key) }

    /// Every primitive goes through the writer's one switch.
    private func put<T: Encodable>(_ value: T, _ key: Key) throws {
        if writer.element(of: id, key: key.stringValue) { try writer.value(value) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        _ = writer.element(of: id, key: key.stringValue)
        return KeyedEncodingContainer(JSONStreamKeyedContainer<NestedKey>(writer: writer, id: writer.open(array: false)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        _ = writer.element(of: id, key: key.stringValue)
        return JSONStreamUnkeyedContainer(writer: writer, id: writer.open(array: true))
    }

    mutating func superEncoder() -> any Encoder {
        writer.failed = true
        return JSONStreamEncoder(writer: writer)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        writer.failed = true
        return JSONStreamEncoder(writer: writer)
    }
}

struct JSONStreamUnkeyedContainer: UnkeyedEncodingContainer {
    let writer: JSONStreamWriter
    let id: Int
    var codingPath: [any CodingKey] { [] }
    var count: Int { writer.stack.last(where: { $0.id == id })?.elements ?? 0 }

    mutating func encodeNil() throws {
        if writer.element(of: id, key: nil) { writer.null() }
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        if writer.element(of: id, key: nil) { try writer.value(value) }
    }

    mutating func encode(_ value: Bool) throws { try put(value) }
    mutating func encode(_ value: String) throws { try put(value) }
    mutating func encode(_ value: Double) throws { try put(value) }
    mutating func encode(_ value: Float) throws { try put(value) }
    mutating func encode(_ value: Int) throws { try put(value) }
    mutating func encode(_ value: Int8) throws { try put(Int(value)) }
    mutating func encode(_ value: Int16) throws { try put(Int(value)) }
    mutating func encode(_ value: Int32) throws { try put(Int(value)) }
    mutating func encode(_ value: Int64) throws { try put(value) }
    mutating func encode(_ value: UInt) throws { try put(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { try put(Int(value)) }
    mutating func encode(_ value: UInt16) throws { try put(Int(value)) }
    mutating func encode(_ value: UInt32) throws { try put(value) }
    mutating func encode(_ value: UInt64) throws { try put(value) }

    private func put<T: Encodable>(_ value: T) throws {
        if writer.element(of: id, key: nil) { try writer.value(value) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        _ = writer.element(of: id, key: nil)
        return KeyedEncodingContainer(JSONStreamKeyedContainer<NestedKey>(writer: writer, id: writer.open(array: false)))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        _ = writer.element(of: id, key: nil)
        return JSONStreamUnkeyedContainer(writer: writer, id: writer.open(array: true))
    }

    mutating func superEncoder() -> any Encoder {
        writer.failed = true
        return JSONStreamEncoder(writer: writer)
    }
}

struct JSONStreamSingleValue: SingleValueEncodingContainer {
    let writer: JSONStreamWriter
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { writer.null() }
    mutating func encode<T: Encodable>(_ value: T) throws { try writer.value(value) }
    mutating func encode(_ value: Bool) throws { try writer.value(value) }
    mutating func encode(_ value: String) throws { try writer.value(value) }
    mutating func encode(_ value: Double) throws { try writer.value(value) }
    mutating func encode(_ value: Float) throws { try writer.value(value) }
    mutating func encode(_ value: Int) throws { try writer.value(value) }
    mutating func encode(_ value: Int8) throws { try writer.value(Int(value)) }
    mutating func encode(_ value: Int16) throws { try writer.value(Int(value)) }
    mutating func encode(_ value: Int32) throws { try writer.value(Int(value)) }
    mutating func encode(_ value: Int64) throws { try writer.value(value) }
    mutating func encode(_ value: UInt) throws { try writer.value(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { try writer.value(Int(value)) }
    mutating func encode(_ value: UInt16) throws { try writer.value(Int(value)) }
    mutating func encode(_ value: UInt32) throws { try writer.value(value) }
    mutating func encode(_ value: UInt64) throws { try writer.value(value) }
}

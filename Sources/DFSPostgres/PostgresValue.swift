/// A value bound to a statement's parameter, or read back from a result column by
/// ``PostgresRow/value(_:)``.
///
/// Parameters travel in PostgreSQL's text format with their type named, except byte arrays,
/// which travel in the binary format (`bytea`), so every one of the 256 byte values arrives
/// as it left.
public enum PostgresValue: Sendable, Hashable {
    case int64(Int64)
    case double(Double)
    case bool(Bool)
    case text(String)
    case bytes([UInt8])
    case null

    public static func int(_ value: Int) -> PostgresValue { .int64(Int64(value)) }
}

extension PostgresValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .int64(let number): return "int64(\(number))"
        case .double(let number): return "double(\(number))"
        case .bool(let flag): return "bool(\(flag))"
        case .text(let text): return "text(\(text.count) characters)"
        case .bytes(let bytes): return "bytes(\(bytes.count))"
        case .null: return "null"
        }
    }
}

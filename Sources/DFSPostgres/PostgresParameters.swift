import CLibPQ
import DFSCore

/// A statement's parameters laid out for PQsendQueryParams: one buffer holding every
/// value, and per parameter its type, format, length and place in the buffer.
struct PostgresParameters {
    /// PostgreSQL's two parameter formats.
    static let textFormat: Int32 = 0
    static let binaryFormat: Int32 = 1

    private(set) var buffer: [UInt8] = []
    /// Where each value starts in `buffer`; nil for NULL.
    private(set) var offsets: [Int?] = []
    private(set) var lengths: [Int32] = []
    private(set) var formats: [Int32] = []
    private(set) var types: [Oid] = []

    init(_ values: [PostgresValue], limits: PostgresLimits) throws(DFSError) {
        guard values.count <= limits.parameterCountMax else {
            throw DFSError(.tooLarge, "statement has \(values.count) parameters, more than the limit of \(limits.parameterCountMax)")
        }
        for (index, value) in values.enumerated() {
            switch value {
            case .null: append(nil, type: 0, format: PostgresParameters.textFormat)
            case .int64(let number): appendText(String(number), type: PostgresTypeOID.int8)
            case .double(let number): appendText(PostgresText.text(of: number), type: PostgresTypeOID.float8)
            case .bool(let flag): appendText(flag ? "t" : "f", type: PostgresTypeOID.bool)
            case .text(let text):
                // Text parameters reach the server as C strings: a NUL would silently end
                // the value there. PostgreSQL's text cannot hold one anyway.
                guard !text.utf8.contains(0) else {
                    throw DFSError(.invalidArgument, "parameter \(index + 1) is text with a NUL character, which PostgreSQL's text cannot hold")
                }
                appendText(text, type: PostgresTypeOID.text)
            case .bytes(let bytes): append(bytes, type: PostgresTypeOID.bytea, format: PostgresParameters.binaryFormat)
            }
            guard buffer.count <= limits.parameterBytesMax else {
                throw DFSError(.tooLarge, "statement parameters exceed the limit of \(limits.parameterBytesMax) bytes")
            }
        }
        // One byte more, so that the buffer always has an address, even when every value is
        // empty: libpq reads a nil value pointer as NULL, and an empty bytea is not NULL.
        buffer.append(0)
    }

    private mutating func appendText(_ text: String, type: Oid) {
        append(Array(text.utf8) + [0], type: type, format: PostgresParameters.textFormat)
    }

    private mutating func append(_ bytes: [UInt8]?, type: Oid, format: Int32) {
        types.append(type)
        formats.append(format)
        guard let bytes else {
            offsets.append(nil)
            lengths.append(0)
            return
        }
        offsets.append(buffer.count)
        lengths.append(Int32(clamping: bytes.count))
        buffer.append(contentsOf: bytes)
    }

    /// Calls `body` with the pointer arrays PQsendQueryParams takes, valid only inside it.
    func withPointers<T>(
        _ body: (
            _ types: UnsafePointer<Oid>?, _ values: UnsafePointer<UnsafePointer<CChar>?>?, _ lengths: UnsafePointer<Int32>?,
            _ formats: UnsafePointer<Int32>?
        ) -> T
    ) -> T {
        buffer.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            let values: [UnsafePointer<CChar>?] = offsets.map { offset in
                offset.map { (base + $0).assumingMemoryBound(to: CChar.self) }
            }
            return types.withUnsafeBufferPointer { types in
                values.withUnsafeBufferPointer { values in
                    lengths.withUnsafeBufferPointer { lengths in
                        formats.withUnsafeBufferPointer { formats in
                            body(types.baseAddress, values.baseAddress, lengths.baseAddress, formats.baseAddress)
                        }
                    }
                }
            }
        }
    }
}

/// Big-endian integers in the store's own file formats (``ChecksumFile``, ``PackFile``):
/// one set of helpers, so that both formats write and read numbers the same way.
enum BigEndian {
    /// Appends `value`, most significant byte first.
    static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// The `T` stored at `offset`, most significant byte first. The caller has checked that
    /// `bytes` holds `MemoryLayout<T>.size` bytes there: reading past the end is a
    /// programmer's error, not bad input.
    static func read<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type, _ bytes: [UInt8], at offset: Int) -> T {
        bytes[offset..<(offset + MemoryLayout<T>.size)].reduce(0) { $0 << 8 | T($1) }
    }

    static func uint32(_ bytes: [UInt8], at offset: Int) -> UInt32 { read(UInt32.self, bytes, at: offset) }

    static func uint64(_ bytes: [UInt8], at offset: Int) -> UInt64 { read(UInt64.self, bytes, at: offset) }
}

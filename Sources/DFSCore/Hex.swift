/// Lower-case hexadecimal text of bytes, as `sha256sum` prints digests.
public enum Hex {
    public static func encode<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

extension Hex {
    /// A CRC32C as 8 hex digits, most significant first (as `crc32c` tools print it).
    public static func crc32c(_ value: UInt32) -> String {
        withUnsafeBytes(of: value.bigEndian) { encode($0) }
    }
}

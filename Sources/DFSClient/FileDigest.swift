import Crypto
import DFSCore

/// Whole-file digests, as `sha256sum` prints them.
enum FileDigest {
    /// Reads the file once from start to end (blocking; run off the cooperative pool).
    static func sha256(of file: LocalFile, size: Int? = nil) throws -> String {
        var hasher = SHA256()
        let total = size ?? file.size
        var offset = 0
        while offset < total {
            let count = min(4 * Limits.chunkBytes, total - offset)
            let bytes = try file.read(at: offset, count: count)
            hasher.update(data: bytes)
            offset += count
        }
        return hex(hasher.finalize())
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

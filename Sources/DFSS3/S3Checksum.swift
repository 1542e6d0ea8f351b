import Crypto
import DFSCore
import Foundation

/// A checksum S3 clients may send with an object, in an `x-amz-checksum-<name>` header or trailer.
public enum S3ChecksumAlgorithm: String, Sendable, CaseIterable {
    case crc32, crc32c, sha1, sha256

    /// The header (or trailer) that carries this checksum: `x-amz-checksum-crc32c`.
    public var headerName: String { "x-amz-checksum-\(rawValue)" }

    /// The algorithm whose header is `name` (any case), as an `x-amz-trailer` value names it.
    public init?(headerName name: String) {
        let lowered = name.lowercased()
        let prefix = "x-amz-checksum-"
        guard lowered.hasPrefix(prefix) else { return nil }
        self.init(rawValue: String(lowered.dropFirst(prefix.count)))
    }

    /// Length of the checksum's base64 form: 8 characters for the CRCs, 28 for SHA-1, 44 for SHA-256.
    public var base64Length: Int {
        switch self {
        case .crc32, .crc32c: 8
        case .sha1: 28
        case .sha256: 44
        }
    }
}

/// An incremental checksum of object data, given as S3 headers carry it: the base64 of the
/// big-endian value (of the digest, for the SHA ones).
public struct S3Checksum: Sendable {
    public let algorithm: S3ChecksumAlgorithm
    private var state: State

    private enum State: Sendable {
        case crc32(CRC32)
        case crc32c(CRC32C)
        case sha1(SendableHash<Insecure.SHA1>)
        case sha256(SendableHash<SHA256>)
    }

    public init(_ algorithm: S3ChecksumAlgorithm) {
        self.algorithm = algorithm
        switch algorithm {
        case .crc32: state = .crc32(CRC32())
        case .crc32c: state = .crc32c(CRC32C())
        case .sha1: state = .sha1(SendableHash())
        case .sha256: state = .sha256(SendableHash())
        }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        switch state {
        case .crc32(var crc):
            crc.update(bytes)
            state = .crc32(crc)
        case .crc32c(var crc):
            crc.update(bytes)
            state = .crc32c(crc)
        case .sha1(var hash):
            hash.function.update(bufferPointer: bytes)
            state = .sha1(hash)
        case .sha256(var hash):
            hash.function.update(bufferPointer: bytes)
            state = .sha256(hash)
        }
    }

    public mutating func update(_ bytes: some Collection<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if done == nil {
            Array(bytes).withUnsafeBytes { update($0) }
        }
    }

    /// The checksum's bytes: the CRC's value big-endian, or the digest.
    public func digest() -> [UInt8] {
        switch state {
        case .crc32(let crc): Self.bigEndianBytes(crc.value)
        case .crc32c(let crc): Self.bigEndianBytes(crc.value)
        case .sha1(let hash): Array(hash.function.finalize())
        case .sha256(let hash): Array(hash.function.finalize())
        }
    }

    /// The checksum as an `x-amz-checksum-*` header carries it.
    public func base64() -> String {
        Data(digest()).base64EncodedString()
    }

    private static func bigEndianBytes(_ value: UInt32) -> [UInt8] {
        [
            UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8),
            UInt8(truncatingIfNeeded: value),
        ]
    }
}

/// A hash function's running state, for use in Sendable values.
///
/// Crypto's hash functions are structs with value semantics (their state is copied, never
/// shared), but are not marked Sendable; a copy moved to another task cannot race with this one.
struct SendableHash<Function: HashFunction>: @unchecked Sendable {
    var function = Function()
}

/// CRC-32 as zlib computes it (the IEEE polynomial, reflected: 0xEDB88320), which S3 calls CRC32.
///
/// Slicing-by-8: eight tables let each step fold eight bytes, about four times the speed of the
/// one-table loop, for 8 KiB of tables built once.
public struct CRC32: Sendable {
    public private(set) var value: UInt32 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        let tables = Self.tables
        var crc = ~value
        var index = 0
        let count = bytes.count
        while count - index >= 8 {
            let low = crc ^ (UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16 | UInt32(bytes[index + 3]) << 24)
            crc =
                tables[7 * 256 + Int(low & 0xFF)] ^ tables[6 * 256 + Int((low >> 8) & 0xFF)] ^ tables[5 * 256 + Int((low >> 16) & 0xFF)]
                ^ tables[4 * 256 + Int(low >> 24)] ^ tables[3 * 256 + Int(bytes[index + 4])] ^ tables[2 * 256 + Int(bytes[index + 5])]
                ^ tables[1 * 256 + Int(bytes[index + 6])] ^ tables[Int(bytes[index + 7])]
            index += 8
        }
        while index < count {
            crc = tables[Int((crc ^ UInt32(bytes[index])) & 0xFF)] ^ (crc >> 8)
            index += 1
        }
        value = ~crc
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }

    /// Table `k` (at `k * 256`) holds the CRC of a byte followed by `k` zero bytes.
    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 {
                crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1
            }
            tables[byte] = crc
        }
        for byte in 0..<256 {
            for table in 1..<8 {
                let previous = tables[(table - 1) * 256 + byte]
                tables[table * 256 + byte] = tables[Int(previous & 0xFF)] ^ (previous >> 8)
            }
        }
        return tables
    }()
}

import CCRC32C

/// CRC32C (Castagnoli), the checksum of every 64 KiB piece of block data.
public struct CRC32C: Sendable {
    public private(set) var value: UInt32 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        value = dfs_crc32c_extend(value, base, bytes.count)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc = CRC32C()
        crc.update(bytes)
        return crc.value
    }

    /// The table implementation alone, to test it against the hardware one.
    public static func portableChecksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { dfs_crc32c_extend_portable(0, $0.baseAddress, $0.count) }
    }

    /// Extends this checksum by a following piece of `length` bytes whose own checksum is
    /// `next`, without reading the piece again.
    public mutating func append(checksum next: UInt32, length: Int) {
        value = dfs_crc32c_combine(value, next, length)
    }

    public static var usesHardware: Bool { dfs_crc32c_hardware_available() != 0 }
}

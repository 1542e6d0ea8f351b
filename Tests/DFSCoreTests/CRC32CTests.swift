import DFSCore
import Testing

@Suite struct CRC32CTests {
    @Test func checkValueMatchesTheStandard() {
        let bytes = Array("123456789".utf8)
        #expect(CRC32C.checksum(bytes) == 0xE306_9283)
        #expect(CRC32C.portableChecksum(bytes) == 0xE306_9283)
    }

    @Test func emptyInputIsZero() {
        #expect(CRC32C.checksum([]) == 0)
        #expect(CRC32C.portableChecksum([]) == 0)
    }

    /// Known vectors from RFC 3720 (iSCSI), appendix B.4.
    @Test func matchesISCSIVectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.portableChecksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
    }

    /// Both implementations agree on every length and alignment, and updating in pieces
    /// gives the same value as one pass.
    @Test func hardwareAndPortableAgreeInPieces() {
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 7) }
        for length in [0, 1, 7, 8, 9, 63, 64, 65, 1000, 9997] {
            let slice = Array(bytes[3..<(3 + length)])
            #expect(CRC32C.checksum(slice) == CRC32C.portableChecksum(slice), "length \(length)")
        }
        var pieces = CRC32C()
        pieces.update(Array(bytes[0..<1234]))
        pieces.update(Array(bytes[1234...]))
        #expect(pieces.value == CRC32C.checksum(bytes))
    }

    /// The interleaved hardware path (4 KiB and up) agrees with the table code at lengths
    /// around every boundary it has: the three-way split, the 8-byte words, the tail.
    @Test func interleavedPathAgreesAtEveryBoundary() {
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 11) }
        for length in [4095, 4096, 4097, 4103, 4104, 4119, 65536, 65537, 65536 * 3 + 5, 299_990] {
            for start in [0, 1, 5] {
                let slice = Array(bytes[start..<(start + length)])
                #expect(CRC32C.checksum(slice) == CRC32C.portableChecksum(slice), "length \(length) at \(start)")
            }
        }
    }

    /// Combining two checksums gives the checksum of the two pieces back to back, for empty,
    /// short and long second pieces, as a block's checksum is built from its 64 KiB pieces.
    @Test func combiningEqualsOnePass() throws {
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: ($0 &* 40_503) >> 3) }
        for split in [0, 1, 100, 65536, 131_072, 199_999, 200_000] {
            var combined = CRC32C()
            combined.update(Array(bytes[..<split]))
            let second = Array(bytes[split...])
            combined.append(checksum: CRC32C.checksum(second), length: second.count)
            #expect(combined.value == CRC32C.checksum(bytes), "split at \(split)")
        }
        let data = BlockData(checksums: BlockData.checksums(of: bytes))
        #expect(try data.verify(bytes, what: "test") == CRC32C.checksum(bytes))
    }
}

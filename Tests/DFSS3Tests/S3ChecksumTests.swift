import Foundation
import Testing

@testable import DFSS3

@Suite struct S3ChecksumTests {
    static let check = Array("123456789".utf8)

    /// The CRC one bit at a time, the definition the table version must agree with.
    static func bitwiseCRC32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 {
                crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1
            }
        }
        return ~crc
    }

    @Test func crc32KnownAnswers() {
        #expect(CRC32.checksum(Self.check) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
        #expect(CRC32.checksum(Array("hello world".utf8)) == 0x0D4A_1185)
    }

    @Test func crc32AgreesWithTheBitwiseDefinitionAtEveryLengthAndSplit() {
        var generator = SeededGenerator(seed: 7)
        let bytes = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for length in 0...bytes.count {
            let prefix = Array(bytes[..<length])
            #expect(CRC32.checksum(prefix) == Self.bitwiseCRC32(prefix), "length \(length)")
        }
        for split in 0...bytes.count {
            var crc = CRC32()
            crc.update(Array(bytes[..<split]))
            crc.update(Array(bytes[split...]))
            #expect(crc.value == Self.bitwiseCRC32(bytes), "split \(split)")
        }
    }

    @Test func base64FormsAreBigEndian() {
        var crc32 = S3Checksum(.crc32)
        crc32.update(Self.check)
        #expect(crc32.digest() == [0xCB, 0xF4, 0x39, 0x26])
        #expect(crc32.base64() == "y/Q5Jg==")
        var crc32c = S3Checksum(.crc32c)
        crc32c.update(Self.check)
        #expect(crc32c.digest() == [0xE3, 0x06, 0x92, 0x83])
        #expect(crc32c.base64() == "4waSgw==")
        #expect(S3Checksum(.crc32).base64() == "AAAAAA==")
        #expect(S3Checksum(.sha256).base64() == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
        #expect(S3Checksum(.sha1).base64() == "2jmj7l5rSw0yVb/vlWAYkK/YBwk=")
        var sha1 = S3Checksum(.sha1)
        sha1.update(Array("abc".utf8))
        #expect(sha1.base64() == "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=")
        for algorithm in S3ChecksumAlgorithm.allCases {
            #expect(S3Checksum(algorithm).base64().count == algorithm.base64Length)
        }
    }

    @Test func documentedTrailerChecksumOfTheChunkedExample() {
        // "x-amz-checksum-crc32c:sOO8/Q==" in AWS's trailer example: 66,560 bytes of `a`.
        var checksum = S3Checksum(.crc32c)
        let data = [UInt8](repeating: UInt8(ascii: "a"), count: 66560)
        checksum.update(data[..<1000])
        checksum.update(data[1000...])
        #expect(checksum.base64() == "sOO8/Q==")
    }

    @Test func incrementalUpdatesEqualOneUpdate() {
        var generator = SeededGenerator(seed: 11)
        let bytes = (0..<5000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for algorithm in S3ChecksumAlgorithm.allCases {
            var whole = S3Checksum(algorithm)
            whole.update(bytes)
            var pieces = S3Checksum(algorithm)
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + Int.random(in: 0...700, using: &generator))
                pieces.update(bytes[offset..<end])
                offset = end
            }
            #expect(pieces.base64() == whole.base64(), "\(algorithm)")
        }
    }

    @Test func algorithmsAreNamedByTheirHeaders() {
        #expect(S3ChecksumAlgorithm(headerName: "x-amz-checksum-crc32c") == .crc32c)
        #expect(S3ChecksumAlgorithm(headerName: "X-Amz-Checksum-CRC32") == .crc32)
        #expect(S3ChecksumAlgorithm(headerName: "x-amz-checksum-sha256") == .sha256)
        #expect(S3ChecksumAlgorithm(headerName: "x-amz-checksum-crc64nvme") == nil)
        #expect(S3ChecksumAlgorithm(headerName: "content-md5") == nil)
        #expect(S3ChecksumAlgorithm.sha1.headerName == "x-amz-checksum-sha1")
    }
}

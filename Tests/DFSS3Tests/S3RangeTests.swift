import DFSHTTP
import Testing

@testable import DFSS3

/// The gateway's reading of a `Range` header against an object's size.
@Suite struct S3RangeTests {
    @Test func rangesAreClampedAndBadOnesIgnoredOrRefused() throws {
        #expect(try S3Gateway.byteRange("bytes=0-9", size: 100) == 0..<10)
        #expect(try S3Gateway.byteRange("bytes=90-", size: 100) == 90..<100)
        #expect(try S3Gateway.byteRange("bytes=-10", size: 100) == 90..<100)
        #expect(try S3Gateway.byteRange("bytes=-1000", size: 100) == 0..<100)
        #expect(try S3Gateway.byteRange("bytes=50-5000", size: 100) == 50..<100)
        // Ends at the top of Int's range are clamped, not added to.
        #expect(try S3Gateway.byteRange("bytes=0-9223372036854775807", size: 100) == 0..<100)
        #expect(try S3Gateway.byteRange("bytes=99-9223372036854775807", size: 100) == 99..<100)
        // Forms S3 ignores: the whole object.
        for ignored in ["bytes=0-1,5-6", "items=0-1", "bytes=5-2", "bytes=a-b", "bytes=-0", "bytes=99999999999999999999-"] {
            #expect(try S3Gateway.byteRange(ignored, size: 100) == nil, "\(ignored)")
        }
        // Starting at or past the end: InvalidRange.
        #expect(throws: S3Error.self) { try S3Gateway.byteRange("bytes=100-", size: 100) }
        #expect(throws: S3Error.self) { try S3Gateway.byteRange("bytes=-5", size: 0) }
    }
}

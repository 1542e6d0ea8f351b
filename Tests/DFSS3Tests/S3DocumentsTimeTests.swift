import Foundation
import Testing

@testable import DFSS3

@Suite struct S3TimeTests {
    func date(_ seconds: Double) -> Date { Date(timeIntervalSince1970: seconds) }

    /// Seconds since 1970 and the IMF-fixdate of each (from Python's calendar.timegm and strftime).
    static let vectors: [(Double, String, String)] = [
        (1_796_114_700, "Tue, 01 Dec 2026 08:45:00 GMT", "2026-12-01T08:45:00.000Z"),
        (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT", "1994-11-06T08:49:37.000Z"),
        (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT", "2000-02-29T00:00:00.000Z"),
        (1_709_251_199, "Thu, 29 Feb 2024 23:59:59 GMT", "2024-02-29T23:59:59.000Z"),
        (-2_203_934_400, "Wed, 28 Feb 1900 12:00:00 GMT", "1900-02-28T12:00:00.000Z"),
        (-1, "Wed, 31 Dec 1969 23:59:59 GMT", "1969-12-31T23:59:59.000Z"),
        (-310_435_200, "Tue, 01 Mar 1960 00:00:00 GMT", "1960-03-01T00:00:00.000Z"),
        (4_107_542_400, "Mon, 01 Mar 2100 00:00:00 GMT", "2100-03-01T00:00:00.000Z"),
        (-11_644_473_600, "Mon, 01 Jan 1601 00:00:00 GMT", "1601-01-01T00:00:00.000Z"),
        (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT", "9999-12-31T23:59:59.000Z"),
        (0, "Thu, 01 Jan 1970 00:00:00 GMT", "1970-01-01T00:00:00.000Z"),
    ]

    @Test func formatsKnownDates() {
        for (seconds, http, iso) in Self.vectors {
            #expect(S3Time.httpDate(date(seconds)) == http)
            #expect(S3Time.iso8601(date(seconds)) == iso)
            #expect(S3Time.parseHTTPDate(http) == date(seconds))
            #expect(S3Time.parseISO8601(iso) == date(seconds))
        }
    }

    @Test func writesMilliseconds() {
        #expect(S3Time.iso8601(date(1_796_114_700.25)) == "2026-12-01T08:45:00.250Z")
        #expect(S3Time.iso8601(date(1_796_114_700.007)) == "2026-12-01T08:45:00.007Z")
        #expect(S3Time.iso8601(date(-0.5)) == "1969-12-31T23:59:59.500Z")
        // The HTTP date has whole seconds: the fraction is dropped, not rounded up.
        #expect(S3Time.httpDate(date(1_796_114_700.999)) == "Tue, 01 Dec 2026 08:45:00 GMT")
        #expect(S3Time.parseISO8601("2026-12-01T08:45:00.250Z") == date(1_796_114_700.25))
    }

    @Test func formatsAndParsesTheAMZDate() {
        #expect(S3Time.amzDate(date(1_796_114_700)) == "20261201T084500Z")
        // The example of AWS's Signature V4 documentation.
        #expect(S3Time.amzDate(date(1_369_353_600)) == "20130524T000000Z")
        #expect(S3Time.parseAMZDate("20130524T000000Z") == date(1_369_353_600))
        #expect(S3Time.parseAMZDate("20240229T235959Z") == date(1_709_251_199))
        for bad in [
            "20130524T000000", "2013-05-24T00:00:00Z", "20130524 000000Z", "20230229T000000Z", "20131324T000000Z", "20130524T240000Z", "2013O524T000000Z", "",
        ] {
            #expect(S3Time.parseAMZDate(bad) == nil, "\(bad)")
        }
    }

    @Test func parsesTheThreeHTTPDateForms() {
        let expected = date(784_111_777)
        #expect(S3Time.parseHTTPDate("Sun, 06 Nov 1994 08:49:37 GMT") == expected)
        #expect(S3Time.parseHTTPDate("Sunday, 06-Nov-94 08:49:37 GMT", now: date(1_796_114_700)) == expected)
        #expect(S3Time.parseHTTPDate("Sun Nov  6 08:49:37 1994") == expected)
        #expect(S3Time.parseHTTPDate("Tue Dec 01 08:45:00 2026") == date(1_796_114_700))
    }

    @Test func readsTwoDigitYearsWithinFiftyYearsOfNow() {
        let now = date(1_796_114_700)  // 2026
        #expect(S3Time.parseHTTPDate("Tuesday, 01-Dec-26 08:45:00 GMT", now: now) == date(1_796_114_700))
        #expect(S3Time.parseHTTPDate("Monday, 01-Mar-60 00:00:00 GMT", now: now).map(S3Time.iso8601) == "2060-03-01T00:00:00.000Z")
        #expect(S3Time.parseHTTPDate("Monday, 01-Jan-77 00:00:00 GMT", now: now).map(S3Time.iso8601) == "1977-01-01T00:00:00.000Z")
        #expect(S3Time.parseHTTPDate("Monday, 01-Jan-76 00:00:00 GMT", now: now).map(S3Time.iso8601) == "2076-01-01T00:00:00.000Z")
    }

    @Test func refusesMalformedHTTPDates() {
        let bad = [
            "", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 nov 1994 08:49:37 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT", "Sun, 29 Feb 1900 08:49:37 GMT", "Sun, 06 Nov 94 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Nov 1994 8:49:37 GMT", "Son, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sun, 06-Nov-94 08:49:37 GMT", "Sun Nov 06 08:49:37 94", "Sun Nov  6 08:49:37 1994 GMT", "1994-11-06T08:49:37Z",
        ]
        for text in bad {
            #expect(S3Time.parseHTTPDate(text) == nil, "\(text)")
        }
        #expect(S3Time.parseHTTPDate("Thu, 29 Feb 2024 23:59:59 GMT") == date(1_709_251_199))
    }

    @Test func roundTripsEveryDayAcrossFourCenturies() {
        // Every week from 1800 to 2200, three seconds later each time, so every field varies.
        let start: Double = -5_364_662_400  // 1800-01-01T00:00:00Z
        var seconds: Double = start + 48_462
        while seconds < 7_258_118_400 {
            let value = date(seconds)
            #expect(S3Time.parseHTTPDate(S3Time.httpDate(value)) == value)
            #expect(S3Time.parseAMZDate(S3Time.amzDate(value)) == value)
            #expect(S3Time.parseISO8601(S3Time.iso8601(value)) == value)
            seconds += 604_803
        }
    }
}

import Foundation

extension SigV4 {
    /// Seconds since 1970 of an ISO 8601 basic timestamp, `20130524T000000Z`, or nil when
    /// `text` is not one (``S3Time/parseAMZDate(_:)``).
    static func seconds(amzDate text: String) -> Int? {
        S3Time.parseAMZDate(text).map { Int($0.timeIntervalSince1970.rounded(.down)) }
    }

    /// Seconds since 1970 of an HTTP date, `Fri, 24 May 2013 00:00:00 GMT`, or nil
    /// (``S3Time/parseHTTPDate(_:now:)``).
    static func seconds(httpDate text: String) -> Int? {
        S3Time.parseHTTPDate(text).map { Int($0.timeIntervalSince1970.rounded(.down)) }
    }

    /// The ISO 8601 basic form of `seconds` since 1970, as the string to sign carries it.
    static func amzDate(seconds: Int) -> String {
        S3Time.amzDate(Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}

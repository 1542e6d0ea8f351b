import Foundation

/// Where the meta server reads the time, in seconds since 1970 (as the store keeps it):
/// the wall clock in service; in tests, a value the test moves on by hand, so that lease
/// expiry, dead-after and the start-up quiet period are checked without sleeping.
public struct MetaClock: Sendable {
    private let read: @Sendable () -> Double

    public init(_ read: @escaping @Sendable () -> Double) {
        self.read = read
    }

    /// The system's wall clock (`Date`).
    public static let system = MetaClock { Date().timeIntervalSince1970 }

    public func now() -> Double { read() }
}

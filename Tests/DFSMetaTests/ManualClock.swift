import DFSCore
import DFSMeta

/// A clock that stands still until it is moved on: for tests.
final class ManualClock: Sendable {
    private let seconds: Mutex<Double>

    init(startingAt seconds: Double = 1_700_000_000) {
        self.seconds = Mutex(seconds)
    }

    var now: Double { seconds.withLock { $0 } }

    func advance(by duration: Duration) {
        seconds.withLock { $0 += duration.inSeconds }
    }

    /// The clock to hand to ``MetaServer/Options/clock``.
    var clock: MetaClock { MetaClock { [self] in now } }
}

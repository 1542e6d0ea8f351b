import DFSCore
import Testing

@Suite struct DurationSecondsTests {
    @Test func secondsKeepTheFraction() {
        #expect(Duration.seconds(3).inSeconds == 3)
        #expect(Duration.milliseconds(1500).inSeconds == 1.5)
        #expect(Duration.microseconds(250).inSeconds == 0.000_25)
        #expect(Duration.zero.inSeconds == 0)
        #expect(Duration.seconds(-2).inSeconds == -2)
    }

    @Test func millisecondsDropTheFractionOfAMillisecond() {
        #expect(Duration.seconds(3).inMilliseconds == 3000)
        #expect(Duration.milliseconds(1500).inMilliseconds == 1500)
        #expect(Duration.microseconds(1999).inMilliseconds == 1)
        #expect(Duration.microseconds(999).inMilliseconds == 0)
        #expect(Duration.seconds(10 * 3600).inMilliseconds == 36_000_000)
    }

    @Test func nanosecondsDropTheFractionAndSaturate() {
        #expect(Duration.milliseconds(1500).inNanoseconds == 1_500_000_000)
        #expect(Duration.nanoseconds(7).inNanoseconds == 7)
        #expect(Duration.seconds(-2).inNanoseconds == -2_000_000_000)
        #expect(Duration.seconds(Int64.max).inNanoseconds == Int64.max)
        #expect(Duration.seconds(Int64.min).inNanoseconds == Int64.min)
    }
}

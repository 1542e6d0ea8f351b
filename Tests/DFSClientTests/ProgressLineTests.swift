import DFSClient
import DFSCore
import Testing

/// The progress line `dfs cp` draws on a terminal.
@Suite struct ProgressLineTests {
    @Test func showsDoneTotalPercentRateAndTimeLeft() {
        let line = ProgressLine.format(done: 512 * 1024 * 1024, total: 2048 * 1024 * 1024, elapsed: .seconds(4))
        #expect(line == "512.0 MiB / 2.0 GiB  25%  128.0 MiB/s  0:12 left")
    }

    @Test func finishedCopyShowsItsTime() {
        let line = ProgressLine.format(done: 10 * 1024 * 1024, total: 10 * 1024 * 1024, elapsed: .milliseconds(2500))
        #expect(line == "10.0 MiB / 10.0 MiB  100%  4.0 MiB/s  done in 0:03")
    }

    @Test func nothingDoneYetHasNoTimeLeft() {
        let line = ProgressLine.format(done: 0, total: 1000, elapsed: .zero)
        #expect(line.hasPrefix("0 B / 1000 B  0%  0 B/s"))
        #expect(!line.contains("left"))
    }

    @Test func emptyTotalNeverDividesByZero() {
        let line = ProgressLine.format(done: 0, total: 0, elapsed: .seconds(1))
        #expect(line.contains("0 B / 0 B"))
        #expect(!line.contains("%"))
    }

    @Test func moreThanTheTotalIsCappedAtOneHundredPercent() {
        // A block resent after a pipeline failure counts twice.
        #expect(ProgressLine.format(done: 150, total: 100, elapsed: .seconds(1)).contains("100%"))
    }

    @Test(arguments: [(0.2, "0:01"), (7, "0:07"), (59.5, "1:00"), (750, "12:30"), (3723, "1:02:03")])
    func clockReadsAsMinutesAndSeconds(seconds: Double, text: String) {
        #expect(ProgressLine.clock(seconds) == text)
    }
}

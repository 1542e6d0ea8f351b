import DFSCore
import Testing

@Suite struct PercentilesTests {
    @Test func hundredSamplesGiveTheFiftiethAndNinetyNinth() {
        let percentiles = Percentiles((1...100).reversed().map(Double.init))
        #expect(percentiles.count == 100)
        #expect(percentiles.p50 == 50)
        #expect(percentiles.p99 == 99)
    }

    @Test func fewSamplesGiveTheLargestAsP99() {
        let percentiles = Percentiles([3, 1, 2])
        #expect(percentiles.p50 == 2)
        #expect(percentiles.p99 == 3)
        #expect(Percentiles((1...50).map(Double.init)).p99 == 50)
    }

    @Test func oneSampleIsEveryPercentile() {
        #expect(Percentiles([7.5]).p50 == 7.5)
        #expect(Percentiles([7.5]).p99 == 7.5)
    }

    @Test func noSamplesGiveZeros() {
        let percentiles = Percentiles([])
        #expect(percentiles.count == 0)
        #expect(percentiles.p50 == 0 && percentiles.p99 == 0)
    }

    @Test func nearestRankAtTheEdges() {
        let sorted: [Double] = [10, 20, 30, 40]
        #expect(Percentiles.nearestRank(0, of: sorted) == 10)
        #expect(Percentiles.nearestRank(0.25, of: sorted) == 10)
        #expect(Percentiles.nearestRank(0.26, of: sorted) == 20)
        #expect(Percentiles.nearestRank(1, of: sorted) == 40)
    }
}

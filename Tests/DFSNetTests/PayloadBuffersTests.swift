import DFSNet
import Testing

/// Spare frame buffers: kept up to a limit, handed out once, resized within their capacity.
@Suite struct PayloadBuffersTests {
    @Test func keepsAtMostItsLimitAndHandsEachOutOnce() {
        let buffers = PayloadBuffers(limit: 2)
        #expect(buffers.take() == nil)
        buffers.give([1])
        buffers.give([2])
        buffers.give([3])
        buffers.give(nil)
        let first = buffers.take()
        let second = buffers.take()
        #expect(Set([first, second].compactMap { $0?.first }) == [1, 2], "the third was dropped")
        #expect(buffers.take() == nil)
    }

    @Test func resizedStaysWithinTheCapacityAndKeepsNoOneElsesBytes() {
        var big = [UInt8](repeating: 7, count: 1000)
        big.reserveCapacity(4000)
        #expect(PayloadBuffers.resized(big, to: 10)?.count == 10)
        #expect(PayloadBuffers.resized(big, to: 3000)?.count == 3000)
        #expect(PayloadBuffers.resized(big, to: 1 << 20) == nil, "larger than its capacity")
        #expect(PayloadBuffers.resized(nil, to: 10) == nil)
        // The caller above still holds `big`; writing into the resized copy leaves it alone.
        var reused = PayloadBuffers.resized(big, to: 1000)!
        reused[0] = 9
        #expect(big.allSatisfy { $0 == 7 })
    }
}

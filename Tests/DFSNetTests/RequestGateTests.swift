import Testing

@testable import DFSNet

/// The request bookkeeping a stopping server relies on, without sockets.
@Suite struct RequestGateTests {
    @Test func idleConnectionClosesAsSoonAsTheServerStops() {
        var gate = RequestGate()
        let closeNow = gate.drain()
        #expect(closeNow, "nothing under way: close now")
        let taken = gate.begin()
        #expect(!taken, "a request after the stop is not taken")
        #expect(!gate.busy)
    }

    @Test func busyConnectionClosesOnlyOnceItsRequestIsAnswered() {
        var gate = RequestGate()
        let taken = gate.begin()
        #expect(taken)
        let closeNow = gate.drain()
        #expect(!closeNow, "a request is under way: the connection stays open")
        #expect(gate.busy && gate.draining)
        let staysOpen = gate.end()
        #expect(!staysOpen, "answered while stopping: close now")
        #expect(!gate.busy)
        let takenAfter = gate.begin()
        #expect(!takenAfter, "no request after the one under way")
    }

    @Test func requestsFollowOneAnotherWhileTheServerRuns() {
        var gate = RequestGate()
        for _ in 0..<3 {
            let taken = gate.begin()
            #expect(taken && gate.busy)
            let staysOpen = gate.end()
            #expect(staysOpen && !gate.busy)
        }
        #expect(gate == RequestGate())
    }

    @Test func stoppingTwiceChangesNothing() {
        var gate = RequestGate()
        _ = gate.begin()
        let first = gate.drain()
        let second = gate.drain()
        #expect(!first && !second, "busy: neither stop closes it")
        let staysOpen = gate.end()
        #expect(!staysOpen)
        let later = gate.drain()
        #expect(later, "idle now: a later stop closes at once")
    }
}

import DFSCore
import Testing

@testable import DFSData

/// The data node's lifecycle actor, driven with plain tasks: no store, no socket.
@Suite struct DataServerStateTests {
    @Test func leavingHandsBackTheReporterOnceAndStoppingTheRest() async {
        let state = DataServerState()
        await state.begin(reporter: { try? await Task.sleep(for: .seconds(60)) }, scrubber: { try? await Task.sleep(for: .seconds(60)) })
        let reporter = await state.beginLeaving()
        #expect(reporter != nil)
        reporter?.cancel()
        await reporter?.value
        #expect(await state.beginLeaving() == nil, "a second leave has no reporter to stop")
        let background = await state.beginStopping()
        #expect(background != nil)
        #expect(background?.reporter == nil, "the reporter went with the leave")
        #expect(background?.scrubber != nil)
        background?.scrubber?.cancel()
        await background?.scrubber?.value
        #expect(await state.beginStopping() == nil, "a second stop has nothing to end")
    }

    @Test func countsACopyUntilItEnds() async throws {
        let state = DataServerState()
        let (release, releaseContinuation) = AsyncStream<Void>.makeStream()
        await state.startCopy { for await _ in release {} }
        #expect(await state.copiesInFlight == 1)
        releaseContinuation.finish()
        let deadline = ContinuousClock.now + .seconds(10)
        while await state.copiesInFlight > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(await state.copiesInFlight == 0)
    }

    @Test func startsNoCopyOnceStopped() async {
        let state = DataServerState()
        _ = await state.beginStopping()
        let ran = Mutex(false)
        await state.startCopy { ran.withLock { $0 = true } }
        #expect(await state.copiesInFlight == 0)
        await Task.yield()
        #expect(!ran.withLock { $0 })
    }

    @Test func remembersTheLastMetaFailureUntilASuccess() async {
        let state = DataServerState()
        #expect(await !state.isRegistered)
        await state.metaReached()
        #expect(await state.isRegistered)
        await state.metaFailed(DFSError(.unauthorized, "wrong secret"))
        #expect(await !state.isRegistered)
        #expect(await state.lastMetaError?.code == .unauthorized)
        await state.metaFailed(nil)
        #expect(await state.lastMetaError?.code == .unauthorized, "a cancelled attempt says nothing new")
        await state.metaReached()
        #expect(await state.lastMetaError == nil)
    }
}

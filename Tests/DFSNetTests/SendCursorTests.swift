import Testing

@testable import DFSNet

/// What remains of a frame after partial sends, split at every kind of place, without sockets.
@Suite struct SendCursorTests {
    @Test func freshCursorOffersTheWholeHeaderAndPayload() {
        let cursor = SendCursor(headerBytes: 10, payloadBytes: 100)
        #expect(cursor.headerRemaining == 0..<10)
        #expect(cursor.payloadRemaining == 0..<100)
        #expect(cursor.remainingBytes == 110)
        #expect(!cursor.isComplete)
    }

    @Test func partialSendInsideTheHeaderKeepsTheWholePayload() {
        var cursor = SendCursor(headerBytes: 10, payloadBytes: 100)
        cursor.advance(by: 3)
        #expect(cursor.headerRemaining == 3..<10)
        #expect(cursor.payloadRemaining == 0..<100)
        #expect(cursor.sentBytes == 3)
    }

    @Test func sendEndingExactlyAtTheHeaderLeavesOnlyThePayload() {
        var cursor = SendCursor(headerBytes: 10, payloadBytes: 100)
        cursor.advance(by: 10)
        #expect(cursor.headerRemaining.isEmpty)
        #expect(cursor.payloadRemaining == 0..<100)
    }

    @Test func sendCrossingIntoThePayloadLeavesItsTail() {
        var cursor = SendCursor(headerBytes: 10, payloadBytes: 100)
        cursor.advance(by: 4)
        cursor.advance(by: 50)
        #expect(cursor.headerRemaining.isEmpty)
        #expect(cursor.payloadRemaining == 44..<100)
        #expect(cursor.remainingBytes == 56)
        cursor.advance(by: 56)
        #expect(cursor.isComplete)
        #expect(cursor.payloadRemaining.isEmpty)
    }

    @Test func frameWithoutPayloadCompletesWithItsHeader() {
        var cursor = SendCursor(headerBytes: 7, payloadBytes: 0)
        #expect(cursor.payloadRemaining.isEmpty)
        cursor.advance(by: 6)
        #expect(cursor.headerRemaining == 6..<7)
        cursor.advance(by: 1)
        #expect(cursor.isComplete)
    }

    @Test func emptyFrameIsCompleteAtOnce() {
        #expect(SendCursor(headerBytes: 0, payloadBytes: 0).isComplete)
    }

    /// Sends of one byte at a time, and every other size, always account for each byte once.
    @Test func everySplitOfAFrameSendsEachByteOnce() {
        let header = 5
        let payload = 9
        for step in 1...(header + payload) {
            var cursor = SendCursor(headerBytes: header, payloadBytes: payload)
            var sentHeader = 0
            var sentPayload = 0
            while !cursor.isComplete {
                let take = min(step, cursor.remainingBytes)
                let fromHeader = min(take, cursor.headerRemaining.count)
                #expect(cursor.headerRemaining.lowerBound == sentHeader)
                #expect(cursor.payloadRemaining.lowerBound == sentPayload)
                sentHeader += fromHeader
                sentPayload += take - fromHeader
                cursor.advance(by: take)
            }
            #expect(sentHeader == header && sentPayload == payload, "step \(step)")
        }
    }
}

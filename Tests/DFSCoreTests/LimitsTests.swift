import DFSCore
import Testing

/// Relations between limits that the code relies on without checking them where it runs:
/// a change to one limit that breaks another's assumption fails here, not in a cluster.
@Suite struct LimitsTests {
    /// Writers checksum each frame piece by piece, and readers check whole pieces: a frame
    /// that ended inside a piece would leave a piece without its checksum.
    @Test func framesAreWholeNumbersOfPieces() {
        #expect(Limits.writeFrameBytes % Limits.pieceBytes == 0)
        #expect(Limits.readFrameBytes % Limits.pieceBytes == 0)
    }

    /// A tree download's batches: every block it puts in a `readBlocks` fits one reply's
    /// payload, a batch of the largest such blocks holds more than one, a page with blocks
    /// is a page a listing's reader accepts, and the request's ids and tokens (a token is
    /// about 100 bytes) and the reply's rows fit one header. A page with blocks: its rows
    /// (a name, under 200 bytes of numbers and digest, and a block of under 400 bytes with
    /// its token and 16 replica indexes) and its node table (at most 16 nodes per entry,
    /// each under 100 bytes) fit one header.
    @Test func batchedReadsFitTheirFrames() {
        #expect(Limits.batchedFileBytesMax * 2 <= Limits.payloadBytesMax)
        #expect(Limits.listEntriesWithBlocksMax <= Limits.listEntriesMax)
        #expect(Limits.blocksPerReadMax * 140 < Limits.headerBytesMax)
        #expect(Limits.blocksPerReadMax * (12 + BlockData.checksumsMax * 11) < Limits.headerBytesMax)
        #expect(Limits.listEntriesWithBlocksMax * (Limits.nameBytesMax * 2 + 200 + 400 + Limits.replicationMax * 100) < Limits.headerBytesMax)
    }

    /// Every frame a sender makes must be one the receiver's decoder accepts.
    @Test func framesFitInOnePayload() {
        #expect(Limits.writeFrameBytes <= Limits.payloadBytesMax)
        #expect(Limits.readFrameBytes <= Limits.payloadBytesMax)
        #expect(BlockData.checksumsMax * Limits.pieceBytes >= Limits.payloadBytesMax)
    }

    /// Headers carry paths and id lists, never data: the longest batch of paths, the longest
    /// page of a listing and the longest lists of ids still fit in one header. A name or
    /// path may double in JSON (a quote or backslash is escaped); a listing row is a name
    /// and under 200 bytes of numbers and digest; an id is at most 20 digits and a comma.
    @Test func listsFitInOneHeader() {
        #expect(Limits.filesPerBatchMax * Limits.pathBytesMax * 2 < Limits.headerBytesMax)
        #expect(Limits.listEntriesMax * (Limits.nameBytesMax * 2 + 200) < Limits.headerBytesMax)
        #expect(Limits.leaseRenewalsMax * 21 < Limits.headerBytesMax)
        #expect(Limits.deletionsPerHeartbeatMax * 21 < Limits.headerBytesMax)
        #expect(Heartbeat.changesMax * 21 < Limits.headerBytesMax)
    }

    /// A heartbeat reply the meta server sends must pass the node's own check of it.
    @Test func aHeartbeatReplyStaysWithinWhatANodeAccepts() {
        #expect(Limits.deletionsPerHeartbeatMax <= Heartbeat.changesMax)
        #expect(HeartbeatOK.verifyBlocksMax <= Heartbeat.changesMax)
    }

    @Test func blockSizesAreOrderedAndFilesFitInAnInt() {
        #expect(Limits.blockBytesMin <= Limits.blockBytesMax)
        #expect(Limits.batchedFileBytesMax <= Limits.blockBytesMax)
        #expect(Limits.fileBytesMax == Limits.blocksPerFileMax * Limits.blockBytesMax)
        // A few thousand file sizes, or a handful of node sizes, add up without overflow.
        #expect(Limits.fileBytesMax <= Int.max / 4096)
        #expect(Limits.nodeBytesMax <= Int.max / 4)
        #expect(Limits.blockIDMax == UInt64(Int64.max))
    }

    /// Loops run `0..<limit` times: a limit of 0 would make an upload give up untried.
    @Test func countsAllowAtLeastOne() {
        #expect(Limits.blockWriteAttempts >= 1)
        #expect(Limits.blocksInFlight >= 1)
        #expect(Limits.replicationMax >= 1)
    }

    /// Errors and log lines quote a peer's value cut to ``Limits/quotedCharactersMax``: a
    /// well-formed value must still show whole, or the operator could not tell two apart.
    @Test func quotedValuesShowEveryWellFormedValueWhole() {
        let longestNodeID = String(repeating: "n", count: 64)
        #expect(NodeID(longestNodeID).isWellFormed)
        #expect(longestNodeID.prefix(Limits.quotedCharactersMax) == longestNodeID[...])
        #expect(!NodeID(longestNodeID + "n").isWellFormed)
        let sha256 = String(repeating: "f", count: 64)
        #expect(sha256.prefix(Limits.quotedCharactersMax) == sha256[...])
        #expect(Limits.loggedBlockIDsMax >= 1)
    }

    /// Each connection keeps a read buffer for its life: a server full of connections
    /// holds at most 256 MiB of them.
    @Test func readBuffersOfAFullServerStayBounded() {
        #expect(Limits.socketReadBytes > 0)
        #expect(Limits.socketReadBytes * Limits.connectionsMax <= 256 * 1024 * 1024)
    }
}

import DFSCore
import Testing

/// Every number off the wire is range-checked where its message is decoded, and a bad value
/// gets its own error code (the connection can go on), while a frame of the wrong shape is a
/// protocol error (the connection closes).
@Suite struct MessageValidationTests {
    static func frame(_ type: String, _ body: String) -> Frame {
        Frame(type: type, header: Array(#"{"type":"\#(type)","body":\#(body)}"#.utf8), payload: [])
    }

    static func decodeError<M: Message>(_ type: M.Type, _ body: String) -> DFSError? {
        do {
            _ = try frame(M.type.rawValue, body).decode(M.self)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: ["9223372036854775808", "18446744073709551615"])
    func blockIDAboveTheDatabaseRangeIsAnInvalidArgument(id: String) {
        let error = Self.decodeError(ReportBadReplica.self, #"{"blockID":\#(id),"nodeID":"n1","reason":"x"}"#)
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(id) == true)
    }

    @Test func largestBlockIDDecodes() throws {
        let report = try Self.frame("reportBadReplica", #"{"blockID":9223372036854775807,"nodeID":"n1","reason":"x"}"#)
            .decode(ReportBadReplica.self)
        #expect(report.blockID == BlockID(UInt64(Int64.max)))
    }

    @Test func blockIDsInsideListsAreCheckedToo() {
        let body =
            #"{"nodeID":"n1","capacityBytes":10,"usedBytes":1,"blockCount":1,"copiesInFlight":0,"added":[],"deleted":[1,9223372036854775808],"corrupt":[]}"#
        #expect(Self.decodeError(Heartbeat.self, body)?.code == .invalidArgument)
    }

    @Test func numberThatDoesNotFitItsTypeIsAProtocolError() {
        #expect(Self.decodeError(ReportBadReplica.self, #"{"blockID":-1,"nodeID":"n1","reason":"x"}"#)?.code == .protocolError)
        #expect(Self.decodeError(WriteBlock.self, #"{"blockID":1,"length":9223372036854775808,"pipeline":[]}"#)?.code == .protocolError)
    }

    @Test func invalidPathKeepsItsOwnCode() {
        let error = Self.decodeError(GetFile.self, #"{"path":"/a/../b"}"#)
        #expect(error?.code == .invalidPath)
    }

    @Test func readPastTheLargestIntIsRefusedAtDecoding() {
        // 65536 + Int.max overflowed in the data node's range check.
        let error = Self.decodeError(ReadBlock.self, #"{"blockID":1,"offset":65536,"length":9223372036854775807}"#)
        #expect(error?.code == .invalidArgument)
        #expect(Self.decodeError(ReadBlock.self, #"{"blockID":1,"offset":-65536}"#)?.code == .invalidArgument)
        #expect(Self.decodeError(ReadBlock.self, #"{"blockID":1,"offset":100}"#)?.code == .invalidArgument)
    }

    @Test func readBlockWithoutOffsetReadsFromTheStart() throws {
        let request = try Self.frame("readBlock", #"{"blockID":5}"#).decode(ReadBlock.self)
        #expect(request.offset == 0)
        #expect(request.length == nil)
        let ranged = try Self.frame("readBlock", #"{"blockID":5,"offset":131072,"length":10}"#).decode(ReadBlock.self)
        #expect(ranged.offset == 131072 && ranged.length == 10)
    }

    @Test func heartbeatSpaceOutOfRangeIsRefusedBeforeAnyHandlerSeesIt() {
        let body = #"{"nodeID":"n1","capacityBytes":0,"usedBytes":9223372036854775807,"blockCount":1,"copiesInFlight":0,"added":[],"deleted":[],"corrupt":[]}"#
        #expect(Self.decodeError(Heartbeat.self, body)?.code == .invalidArgument)
        let negative = #"{"nodeID":"n1","capacityBytes":-1,"usedBytes":0,"blockCount":0,"copiesInFlight":0,"added":[],"deleted":[],"corrupt":[]}"#
        #expect(Self.decodeError(Heartbeat.self, negative)?.code == .invalidArgument)
    }

    @Test func heartbeatWithTooManyChangesOfOneKindIsTooLarge() {
        let deleted = (1...(Heartbeat.changesMax + 1)).map(String.init).joined(separator: ",")
        let body = #"{"nodeID":"n1","capacityBytes":10,"usedBytes":1,"blockCount":1,"copiesInFlight":0,"added":[],"deleted":[\#(deleted)],"corrupt":[]}"#
        #expect(Self.decodeError(Heartbeat.self, body)?.code == .tooLarge)
    }

    @Test func blockIndexAndLengthsAreBounded() {
        #expect(Self.decodeError(AllocateBlock.self, #"{"fileID":1,"blockIndex":-1,"excludeNodes":[]}"#)?.code == .invalidArgument)
        #expect(Self.decodeError(AllocateBlock.self, #"{"fileID":1,"blockIndex":1000000,"excludeNodes":[]}"#)?.code == .invalidArgument)
        let block = #"{"blockID":1,"blockIndex":0,"length":9223372036854775807,"checksum":0,"nodes":["n1"]}"#
        #expect(Self.decodeError(CompleteFile.self, #"{"fileID":1,"size":1,"blocks":[\#(block)]}"#)?.code == .invalidArgument)
        #expect(Self.decodeError(CompleteFile.self, #"{"fileID":1,"size":-1,"blocks":[]}"#)?.code == .invalidArgument)
        #expect(Self.decodeError(WriteBlock.self, #"{"blockID":1,"length":0,"pipeline":[]}"#)?.code == .invalidArgument)
        let port = #"{"blockID":1,"length":1,"pipeline":[{"nodeID":"n2","address":{"host":"127.0.0.1","port":-1}}]}"#
        #expect(Self.decodeError(WriteBlock.self, port)?.code == .invalidArgument)
    }

    @Test func valuesAtTheEdgesOfTheirRangesDecode() throws {
        _ = try Self.frame("readBlock", #"{"blockID":0,"offset":1073741824,"length":0}"#).decode(ReadBlock.self)
        _ = try Self.frame(
            "heartbeat",
            #"{"nodeID":"n1","capacityBytes":1152921504606846976,"usedBytes":0,"blockCount":0,"copiesInFlight":0,"added":[],"deleted":[],"corrupt":[]}"#
        )
        .decode(Heartbeat.self)
        _ = try Self.frame("list", #"{"path":"/","limit":-9223372036854775808}"#).decode(List.self)
    }

    @Test func replyWithAValueOutOfRangeIsTheServersProtocolError() {
        func replyError<M: Message>(_ type: M.Type, _ body: String) -> DFSError? {
            do {
                _ = try Self.frame(M.type.rawValue, body).reply(M.self)
                return nil
            } catch {
                return error
            }
        }
        #expect(replyError(ReadBlockOK.self, #"{"blockID":1,"blockLength":10,"length":11}"#)?.code == .protocolError)
        let info = #"{"path":"/a","type":"file","size":9223372036854775807,"mtime":1,"replication":1,"blockBytes":4096}"#
        #expect(replyError(GetFileOK.self, #"{"info":\#(info),"blocks":[]}"#)?.code == .protocolError)
        let huge = #"{"path":"/a","type":"file","size":1,"mtime":1e300,"replication":1,"blockBytes":4096}"#
        #expect(replyError(CompleteFileOK.self, #"{"info":\#(huge)}"#)?.code == .protocolError)
        // An error reply is still the server's verdict, with its own code.
        let refusal = Self.frame("error", #"{"error":{"code":"notFound","message":"no"}}"#)
        #expect(throws: DFSError(.notFound, "no")) { try refusal.reply(ReadBlockOK.self) }
    }
}

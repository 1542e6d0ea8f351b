import DFSCore
import DFSNet
import Testing

/// Which meta server a client or a data node talks to, as failures and standbys' answers
/// come in.
struct MetaServersTests {
    let a = Endpoint(host: "10.0.0.1", port: 8000)
    let b = Endpoint(host: "10.0.0.2", port: 8000)
    let c = Endpoint(host: "10.0.0.3", port: 8000)

    @Test func anUnreachableServerPassesTheTurnToTheNext() {
        let metas = MetaServers([a, b, c])
        #expect(metas.current == a)
        metas.note(DFSError(.connectionFailed, "refused"), from: a)
        #expect(metas.current == b)
        metas.note(DFSError(.timeout, "no answer"), from: b)
        #expect(metas.current == c)
        metas.note(DFSError(.connectionFailed, "refused"), from: c)
        #expect(metas.current == a)
    }

    @Test func aStandbySendsClientsToTheActiveServerItNames() {
        let metas = MetaServers([a, b])
        metas.note(DFSError.notActive(active: b), from: a)
        #expect(metas.current == b)
        // One the list does not have: the standby knows better.
        metas.note(DFSError.notActive(active: c), from: b)
        #expect(metas.current == c)
        // A standby that knows no active server: the next address.
        metas.note(DFSError.notActive(active: nil), from: c)
        #expect(metas.current == a)
        #expect(DFSError.notActive(active: nil).transient == true)
    }

    @Test func otherErrorsAndLateFailuresChangeNothing() {
        let metas = MetaServers([a, b])
        metas.note(DFSError(.notFound, "no such file"), from: a)
        metas.note(DFSError(.invalidArgument, "bad"), from: a)
        #expect(metas.current == a)
        metas.note(DFSError(.connectionFailed, "refused"), from: a)
        #expect(metas.current == b)
        // A second request that had also tried a fails later: b stays.
        metas.note(DFSError(.connectionFailed, "refused"), from: a)
        #expect(metas.current == b)
    }

    @Test func aSingleServerStays() {
        let metas = MetaServers(a)
        metas.note(DFSError(.connectionFailed, "refused"), from: a)
        #expect(metas.current == a)
        #expect(metas.description == "10.0.0.1:8000")
    }

    @Test func theActiveAddressTravelsInTheErrorFrame() throws {
        let error = DFSError.notActive(active: b)
        var decoder = FrameDecoder()
        decoder.append(try FrameEncoder.frame(ErrorMessage(error)))
        let frame = try #require(try decoder.nextFrame())
        #expect(throws: error) { try frame.reply(OK.self) }
        let text = String(decoding: try FrameEncoder.frame(ErrorMessage(error)), as: UTF8.self)
        #expect(text.contains(#""active":{"host":"10.0.0.2","port":8000}"#))
    }
}

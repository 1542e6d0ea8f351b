import DFSCore
import Testing

@Suite struct RemoteLocationTests {
    @Test func parsesHostPortAndRelativePath() throws {
        let location = try #require(try RemoteLocation.parse("localhost:8000:docs/document.pdf"))
        #expect(location.endpoint == Endpoint(host: "localhost", port: 8000))
        #expect(location.path == (try DFSPath("/docs/document.pdf")))
    }

    @Test func parsesHostPortAndAbsolutePath() throws {
        let location = try #require(try RemoteLocation.parse("localhost:8000:/a"))
        #expect(location.endpoint == Endpoint(host: "localhost", port: 8000))
        #expect(location.path == (try DFSPath("/a")))
    }

    @Test(arguments: ["localhost:8000", "localhost:8000:", "localhost:8000:/", "localhost:8000://"])
    func hostAndPortAloneIsTheRoot(text: String) throws {
        let location = try #require(try RemoteLocation.parse(text))
        #expect(location.endpoint == Endpoint(host: "localhost", port: 8000))
        #expect(location.path == .root)
    }

    @Test func normalisesThePath() throws {
        let location = try #require(try RemoteLocation.parse("10.0.0.5:9000:/a//b/"))
        #expect(location.endpoint == Endpoint(host: "10.0.0.5", port: 9000))
        #expect(location.path.string == "/a/b")
    }

    @Test func colonsAfterThePortBelongToThePath() throws {
        let location = try #require(try RemoteLocation.parse("host:80:logs/12:30:00.txt"))
        #expect(location.path.components == ["logs", "12:30:00.txt"])
    }

    @Test(arguments: [
        "./a.txt", "/tmp/x", "a.txt", "C", "", "../up", "C:\\Users\\x.txt", "notes:draft", "a:b:c",
        ":8000:/a", "dir/host:8000:/a", "host:0:/a", "host:65536:/a", "host:-1:/a", "host::/a",
    ])
    func textWithoutHostAndPortIsALocalPath(text: String) throws {
        #expect(try RemoteLocation.parse(text) == nil)
    }

    @Test(arguments: ["localhost:8000:../x", "localhost:8000:/a/./b", "localhost:8000:a\u{0}b"])
    func rejectsInvalidRemotePath(text: String) throws {
        let error = #expect(throws: DFSError.self) { try RemoteLocation.parse(text) }
        #expect(error?.code == .invalidPath)
    }

    @Test func descriptionParsesBackToTheSameLocation() throws {
        for text in ["localhost:8000:docs/document.pdf", "localhost:8000", "h:1:/a/b c"] {
            let location = try #require(try RemoteLocation.parse(text))
            #expect(try RemoteLocation.parse(location.description) == location, "\(text)")
        }
        #expect(try RemoteLocation.parse("localhost:8000:docs/document.pdf")?.description == "localhost:8000:/docs/document.pdf")
    }
}

/// `dfs:PATH` with the meta server from `DFS_META`.
@Suite struct ShortRemoteLocationTests {
    let environment = ["DFS_META": "127.0.0.1:8000"]

    @Test func shortFormTakesTheMetaServerFromTheEnvironment() throws {
        let location = try #require(try RemoteLocation.parse("dfs:/docs/a.pdf", environment: environment))
        #expect(location.endpoint == Endpoint(host: "127.0.0.1", port: 8000))
        #expect(location.path == (try DFSPath("/docs/a.pdf")))
    }

    @Test(arguments: ["dfs:", "dfs:/", "dfs://"])
    func shortFormAloneIsTheRoot(text: String) throws {
        #expect(try RemoteLocation.parse(text, environment: environment)?.path == .root)
    }

    @Test func shortFormWithoutTheVariableSaysWhatIsMissing() {
        let error = #expect(throws: DFSError.self) { try RemoteLocation.parse("dfs:/a", environment: [:]) }
        #expect(error?.message.contains("DFS_META=HOST:PORT") == true)
    }

    @Test func badVariableIsNamed() {
        let error = #expect(throws: DFSError.self) { try RemoteLocation.parse("dfs:/a", environment: ["DFS_META": "nonsense"]) }
        #expect(error?.message.hasPrefix("DFS_META:") == true)
    }

    @Test func fullFormAndLocalPathsIgnoreTheVariable() throws {
        #expect(try RemoteLocation.parse("host:9:/x", environment: environment)?.endpoint == Endpoint(host: "host", port: 9))
        #expect(try RemoteLocation.parse("./dfs:/x", environment: environment) == nil)
        #expect(try RemoteLocation.parse("notes.txt", environment: environment) == nil)
    }

    @Test func badPathInShortFormIsRejected() {
        let error = #expect(throws: DFSError.self) { try RemoteLocation.parse("dfs:/a/../b", environment: environment) }
        #expect(error?.message.contains("..") == true)
    }

    // A mark after ':' or '/' joins it into one Character; the text is cut at bytes all the same.
    @Test func combiningMarkAfterAColonOrSlashDoesNotHideIt() throws {
        let location = try #require(try RemoteLocation.parse("host:80:\u{301}a/\u{301}b"))
        #expect(location.endpoint == Endpoint(host: "host", port: 80))
        #expect(location.path.components.map { Array($0.utf8) } == [Array("\u{301}a".utf8), Array("\u{301}b".utf8)])
        let short = try #require(try RemoteLocation.parse("dfs:\u{301}x", environment: ["DFS_META": "127.0.0.1:8000"]))
        #expect(short.path.components.map { Array($0.utf8) } == [Array("\u{301}x".utf8)])
    }

    @Test func hostWithASlashHiddenByAMarkIsNotAHost() throws {
        #expect(throws: DFSError.self) { try Endpoint(parsing: "a/\u{301}b:80") }
        #expect(try RemoteLocation.parse("a/\u{301}b:80:/x") == nil)
    }

    @Test func aListOfMetaServersBeforeThePath() throws {
        let location = try #require(try RemoteLocation.parse("10.0.0.1:8000,10.0.0.2:8001:/docs/a,b.txt"))
        #expect(location.endpoints == [Endpoint(host: "10.0.0.1", port: 8000), Endpoint(host: "10.0.0.2", port: 8001)])
        #expect(location.endpoint == Endpoint(host: "10.0.0.1", port: 8000))
        #expect(location.path.components == ["docs", "a,b.txt"])
        #expect(location.description == "10.0.0.1:8000,10.0.0.2:8001:/docs/a,b.txt")
        let root = try #require(try RemoteLocation.parse("a:1,b:2,a:1"))
        #expect(root.endpoints == [Endpoint(host: "a", port: 1), Endpoint(host: "b", port: 2)])
        #expect(root.path == .root)
    }

    @Test(arguments: ["a:1,b", "a:1,:2:/x", "a:1,b:0:/x", "a:1,,b:2", "a:1,b/c:2:/x"])
    func aBrokenListIsALocalPath(text: String) throws {
        #expect(try RemoteLocation.parse(text) == nil)
    }

    @Test func aListHasAtMostEightServers() throws {
        let nine = (1...9).map { "h\($0):80" }.joined(separator: ",")
        #expect(throws: DFSError.self) { try RemoteLocation.parse(nine + ":/x") }
        #expect(throws: DFSError.self) { try Endpoint.parseList(nine) }
        #expect(try Endpoint.parseList("a:1,b:2") == [Endpoint(host: "a", port: 1), Endpoint(host: "b", port: 2)])
        #expect(throws: DFSError.self) { try Endpoint.parseList("a:1,") }
    }

    @Test func dfsPrefixTakesTheListFromTheEnvironment() throws {
        let location = try #require(try RemoteLocation.parse("dfs:/x", environment: ["DFS_META": "a:1,b:2"]))
        #expect(location.endpoints == [Endpoint(host: "a", port: 1), Endpoint(host: "b", port: 2)])
    }
}

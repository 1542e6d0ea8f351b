import DFSCore
import Foundation
import Testing

@Suite struct DFSPathTests {
    // MARK: - Normalisation

    @Test(arguments: [
        ("a/b", "/a/b"),
        ("/a/b", "/a/b"),
        ("/a//b/", "/a/b"),
        ("a///b//", "/a/b"),
        ("//", "/"),
        ("/", "/"),
        ("", "/"),
        ("docs", "/docs"),
    ])
    func normalises(text: String, expected: String) throws {
        #expect(try DFSPath(text).string == expected)
    }

    @Test func leadingSlashIsOptional() throws {
        #expect(try DFSPath("docs/a.pdf") == DFSPath("/docs/a.pdf"))
    }

    @Test func emptyAndSlashesAreTheRoot() throws {
        for text in ["", "/", "//", "///"] {
            let path = try DFSPath(text)
            #expect(path == .root, "'\(text)'")
            #expect(path.isRoot, "'\(text)'")
            #expect(path.components.isEmpty, "'\(text)'")
        }
        #expect(try !DFSPath("/a").isRoot)
    }

    @Test func componentsAreTheNamesRootFirst() throws {
        #expect(try DFSPath("/docs/2024/a.pdf").components == ["docs", "2024", "a.pdf"])
    }

    @Test(arguments: ["...", ".hidden", "a.", "..a", "a b", "ünïcödé", "日本語", "x\\y", "a:b"])
    func acceptsNamesThatOnlyLookUnusual(name: String) throws {
        #expect(try DFSPath("/d/" + name).components == ["d", name])
    }

    @Test func descriptionIsTheNormalisedString() throws {
        #expect(try DFSPath("a//b/").description == "/a/b")
        #expect(DFSPath.root.description == "/")
    }

    // MARK: - Rejections

    @Test(arguments: ["..", "/..", "a/..", "../a", "/a/../b", "a/../../etc"])
    func rejectsDotDot(text: String) throws {
        let error = #expect(throws: DFSError.self) { try DFSPath(text) }
        #expect(error?.code == .invalidPath)
        #expect(error?.message.contains("'..'") == true, "\(error?.message ?? "")")
    }

    @Test(arguments: [".", "/.", "a/.", "./a", "/a/./b"])
    func rejectsDot(text: String) throws {
        let error = #expect(throws: DFSError.self) { try DFSPath(text) }
        #expect(error?.code == .invalidPath)
        #expect(error?.message.contains("contains '.'") == true, "\(error?.message ?? "")")
    }

    @Test func rejectsNUL() throws {
        let error = #expect(throws: DFSError.self) { try DFSPath("/docs/a\u{0}b") }
        #expect(error?.code == .invalidPath)
        // The bad name is shown escaped, so that the message itself stays printable.
        #expect(error?.message.contains(#""a\0b""#) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("NUL") == true)
    }

    @Test(arguments: ["\u{1}", "\t", "\n", "\r", "\u{1B}", "\u{1F}", "\u{7F}"])
    func rejectsControlCharacters(control: String) throws {
        let error = #expect(throws: DFSError.self) { try DFSPath("/docs/bad" + control + "name") }
        #expect(error?.code == .invalidPath)
        #expect(error?.message.contains("bad") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("control character") == true)
    }

    @Test func acceptsNameOf255Bytes() throws {
        let name = String(repeating: "n", count: 255)
        #expect(try DFSPath("/d/" + name).name == name)
    }

    @Test func rejectsNameOf256Bytes() throws {
        let name = String(repeating: "n", count: 256)
        let error = #expect(throws: DFSError.self) { try DFSPath("/d/" + name) }
        #expect(error?.code == .invalidPath)
        #expect(error?.message.contains("256 bytes") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("255") == true)
        // The message names the part, shortened so that it stays readable.
        #expect(error?.message.contains(String(repeating: "n", count: 32)) == true)
        #expect(error?.message.contains(String(repeating: "n", count: 33)) == false)
    }

    @Test func measuresNamesInBytesNotCharacters() throws {
        // 128 two-byte characters: 128 characters, 256 bytes.
        let name = String(repeating: "é", count: 128)
        #expect(name.count == 128)
        let error = #expect(throws: DFSError.self) { try DFSPath(name) }
        #expect(error?.code == .invalidPath)
        #expect(try DFSPath(String(repeating: "é", count: 127) + "e").components.count == 1)
    }

    /// A path of exactly `bytes` bytes (at least 2), with a leading slash and names of at most 100 bytes.
    private func pathText(bytes: Int) -> String {
        var text = ""
        while text.utf8.count < bytes {
            let remaining = bytes - text.utf8.count
            // Never leave 1 byte over: a name needs a slash and at least one byte.
            let nameBytes = remaining <= 101 ? remaining - 1 : (remaining == 102 ? 99 : 100)
            text += "/" + String(repeating: "p", count: nameBytes)
        }
        precondition(text.utf8.count == bytes)
        return text
    }

    @Test func acceptsPathOf4096Bytes() throws {
        let text = pathText(bytes: Limits.pathBytesMax)
        let path = try DFSPath(text)
        #expect(path.string == text)
    }

    @Test func rejectsPathOver4096Bytes() throws {
        let error = #expect(throws: DFSError.self) { try DFSPath(pathText(bytes: Limits.pathBytesMax + 1)) }
        #expect(error?.code == .invalidPath)
        #expect(error?.message.contains("4097 bytes") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("4096") == true)
    }

    @Test func rejectsPathWhoseNormalisedFormIsOverTheLimit() throws {
        // 4096 bytes as written, 4097 once the leading slash is added: the stored path would
        // be one that no peer could send back.
        let text = String(pathText(bytes: Limits.pathBytesMax + 1).dropFirst())
        #expect(text.utf8.count == Limits.pathBytesMax)
        let error = #expect(throws: DFSError.self) { try DFSPath(text) }
        #expect(error?.code == .invalidPath)
        #expect(error?.message.contains("4097 bytes") == true, "\(error?.message ?? "")")
    }

    @Test func everyAcceptedPathFitsTheLimitAndDecodesAgain() throws {
        let texts = [
            pathText(bytes: Limits.pathBytesMax),
            String(pathText(bytes: Limits.pathBytesMax).dropFirst()),
            "a" + pathText(bytes: Limits.pathBytesMax - 1),
        ]
        for text in texts {
            guard let path = try? DFSPath(text) else { continue }
            #expect(path.string.utf8.count <= Limits.pathBytesMax)
            #expect(try DFSPath(path.string) == path)
        }
    }

    // MARK: - Navigation

    @Test func parentDropsTheLastName() throws {
        #expect(try DFSPath("/a/b/c").parent == DFSPath("/a/b"))
        #expect(try DFSPath("/a").parent == .root)
        #expect(DFSPath.root.parent == nil)
    }

    @Test func nameIsTheLastComponentOrSlashForRoot() throws {
        #expect(try DFSPath("/a/b/report.pdf").name == "report.pdf")
        #expect(try DFSPath("a").name == "a")
        #expect(DFSPath.root.name == "/")
    }

    @Test func ancestorsAreOutermostFirstWithoutRootOrSelf() throws {
        #expect(try DFSPath("/a/b/c").ancestors == [DFSPath("/a"), DFSPath("/a/b")])
        #expect(try DFSPath("/a/b").ancestors == [DFSPath("/a")])
        #expect(try DFSPath("/a").ancestors.isEmpty)
        #expect(DFSPath.root.ancestors.isEmpty)
    }

    @Test func appendingAddsOneName() throws {
        #expect(try DFSPath.root.appending("a") == DFSPath("/a"))
        #expect(try DFSPath("/a").appending("b.txt") == DFSPath("/a/b.txt"))
        #expect(try DFSPath("/a").appending("b").parent == DFSPath("/a"))
    }

    @Test(arguments: ["a/b", "/a/b", ""])
    func appendingRejectsAnythingButOneName(name: String) throws {
        let error = #expect(throws: DFSError.self) { try DFSPath("/base").appending(name) }
        #expect(error?.code == .invalidPath)
        #expect(error?.message.contains("not a single name") == true)
    }

    @Test(arguments: ["..", ".", "a\u{0}", String(repeating: "x", count: 256)])
    func appendingValidatesTheName(name: String) throws {
        let error = #expect(throws: DFSError.self) { try DFSPath("/base").appending(name) }
        #expect(error?.code == .invalidPath)
    }

    @Test func appendingRejectsAResultOverThePathLimit() throws {
        let base = try DFSPath(pathText(bytes: Limits.pathBytesMax - 2))
        #expect(try base.appending("x").string.utf8.count == Limits.pathBytesMax)
        let error = #expect(throws: DFSError.self) { try base.appending("xy") }
        #expect(error?.code == .invalidPath)
    }

    @Test func ordersByComponentsSoChildrenFollowTheirFolder() throws {
        let sorted = try ["/b", "/a/z", "/a", "/a-b", "/a/b"].map(DFSPath.init).sorted()
        #expect(sorted.map(\.string) == ["/a", "/a/b", "/a/z", "/a-b", "/b"])
        #expect(DFSPath.root < (try DFSPath("/a")))
    }

    // MARK: - Codable

    @Test func codableRoundTripKeepsThePath() throws {
        for text in ["/", "/a", "/docs/report 2024.pdf", "/ünï/日本"] {
            let path = try DFSPath(text)
            let data = try JSONEncoder().encode([path])
            #expect(try JSONDecoder().decode([DFSPath].self, from: data) == [path])
        }
    }

    @Test func encodesAsItsString() throws {
        let data = try JSONEncoder().encode(["p": try DFSPath("a//b")])
        #expect(try JSONDecoder().decode([String: String].self, from: data) == ["p": "/a/b"])
    }

    @Test func decodingNormalises() throws {
        let data = Data(#"["a//b/"]"#.utf8)
        #expect(try JSONDecoder().decode([DFSPath].self, from: data) == [DFSPath("/a/b")])
    }

    @Test(arguments: [#"["/a/../b"]"#, #"["."]"#, #"["a\u0000b"]"#])
    func decodingInvalidPathFails(json: String) throws {
        #expect(throws: (any Error).self) { try JSONDecoder().decode([DFSPath].self, from: Data(json.utf8)) }
    }

    @Test func decodingInvalidPathReportsTheInvalidPathError() throws {
        let error = #expect(throws: DFSError.self) {
            try JSONDecoder().decode([DFSPath].self, from: Data(#"["/a/../b"]"#.utf8))
        }
        #expect(error?.code == .invalidPath)
    }

    @Test func decodingANonStringFails() throws {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([DFSPath].self, from: Data("[42]".utf8)) }
    }
}

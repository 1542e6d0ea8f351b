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
    // MARK: - Bytes, not characters

    /// The names' bytes, for comparisons that String's `==` (canonical equivalence) would blur.
    private func bytes(_ path: DFSPath) -> [[UInt8]] { path.components.map { Array($0.utf8) } }

    @Test func combiningMarkAfterSlashStartsANewName() throws {
        // "/" + U+0301 is one Character: splitting on Characters kept "x/\u{301}y" as one name.
        let path = try DFSPath("/x/\u{301}y")
        #expect(bytes(path) == [Array("x".utf8), Array("\u{301}y".utf8)])
        #expect(path.parent == (try DFSPath("/x")))
        #expect(Array(path.name.utf8) == [0xCC, 0x81, 0x79])
        #expect(path.string.utf8.elementsEqual("/x/\u{301}y".utf8))
    }

    @Test func prependedMarkBeforeSlashDoesNotHideIt() throws {
        // U+0600 (ARABIC NUMBER SIGN) joins the character after it, here the '/'.
        let path = try DFSPath("/a\u{600}/b")
        #expect(bytes(path) == [Array("a\u{600}".utf8), Array("b".utf8)])
    }

    @Test func canonicallyEquivalentNamesAreDifferentPaths() throws {
        let composed = try DFSPath("/\u{E9}/f")
        let decomposed = try DFSPath("/e\u{301}/f")
        #expect("\u{E9}" == "e\u{301}", "String compares by canonical equivalence")
        #expect(composed != decomposed)
        #expect(Set([composed, decomposed]).count == 2)
        #expect(composed == (try DFSPath("\u{E9}//f/")))
        #expect(Set([composed, try DFSPath("/\u{E9}/f")]).count == 1)
        #expect(!composed.isSelfOrDescendant(of: try DFSPath("/e\u{301}")))
        #expect(composed.isSelfOrDescendant(of: try DFSPath("/\u{E9}")))
    }

    @Test func ordersByBytes() throws {
        // 'e' (0x65) comes before the first byte of U+00E9 (0xC3); String's order calls them equal.
        #expect(try DFSPath("/e\u{301}") < DFSPath("/\u{E9}"))
        #expect(try !(DFSPath("/\u{E9}") < DFSPath("/e\u{301}")))
        #expect(try DFSPath("/Z") < DFSPath("/a"))
        let sorted = try ["/\u{E9}", "/f", "/e\u{301}", "/e"].map(DFSPath.init).sorted()
        #expect(sorted.map { Array($0.string.utf8) } == ["/e", "/e\u{301}", "/f", "/\u{E9}"].map { Array($0.utf8) })
    }

    @Test func selfOrDescendantComparesWholeNames() throws {
        let folder = try DFSPath("/m")
        #expect(try DFSPath("/m/\u{301}n").isSelfOrDescendant(of: folder))
        #expect(folder.isSelfOrDescendant(of: folder))
        #expect(try !DFSPath("/m\u{301}/n").isSelfOrDescendant(of: folder))
        #expect(try !DFSPath("/mn").isSelfOrDescendant(of: folder))
        #expect(try DFSPath("/a").isSelfOrDescendant(of: .root))
    }

    // MARK: - Names that would make listings lie

    @Test(arguments: [0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F, 0x061C, 0x80, 0x85, 0x9B, 0x9F])
    func refusesBidirectionalAndC1ControlsAtCreation(value: UInt32) throws {
        let scalar = try #require(Unicode.Scalar(value))
        let path = try DFSPath("/docs/photo" + String(scalar) + "gpj.exe")
        let error = #expect(throws: DFSError.self) { try path.validateForCreation() }
        #expect(error?.code == .invalidPath)
        let code = "U+" + String(repeating: "0", count: 4 - String(value, radix: 16).count) + String(value, radix: 16, uppercase: true)
        #expect(error?.message.contains(code) == true, "\(error?.message ?? "")")
        // The message shows the name escaped: it cannot reorder the line it is printed on.
        #expect(error?.message.unicodeScalars.contains(scalar) == false)
        #expect(error?.message.contains("photo\\u{") == true, "\(error?.message ?? "")")
    }

    @Test func namingAStoredNameWithSuchCharactersStillWorks() throws {
        // An older version could store these; they must stay listable, movable, removable.
        let path = try DFSPath("/old\u{202E}name")
        #expect(path.components.count == 1)
        let data = try JSONEncoder().encode([path])
        #expect(try JSONDecoder().decode([DFSPath].self, from: data) == [path])
    }

    @Test(arguments: ["plain", "\u{E9}t\u{E9}", "e\u{301}", "\u{301}leading", "\u{200B}zero-width", "\u{65E5}\u{672C}"])
    func acceptsOrdinaryUnicodeAtCreation(name: String) throws {
        try DFSPath("/d/" + name).validateForCreation()
    }

    @Test func refusedNameMessageNamesTheCharacter() throws {
        let error = #expect(throws: DFSError.self) { try DFSPath("/a\u{202E}b").validateForCreation() }
        #expect(error?.message.contains("U+202E RIGHT-TO-LEFT OVERRIDE") == true, "\(error?.message ?? "")")
    }

    @Test func descriptionIsEscaped() throws {
        #expect(try DFSPath("/a\u{202E}b/c\\d").description == #"/a\u{202E}b/c\\d"#)
        #expect(try DFSPath("/a\u{202E}b").string.unicodeScalars.contains("\u{202E}"))
    }
}

import DFSCore
import Testing

/// Names printed so that what a terminal shows is what is stored.
@Suite struct DisplayTextTests {
    @Test(arguments: ["report.pdf", "\u{E9}t\u{E9} 2024", "e\u{301}", "\u{65E5}\u{672C}", "a b:c"])
    func ordinaryNamesAreShownAsTheyAre(name: String) {
        #expect(DisplayText.escaped(name).utf8.elementsEqual(name.utf8))
    }

    @Test func controlAndBidirectionalCharactersAreEscaped() {
        #expect(DisplayText.escaped("photo\u{202E}gpj.exe") == #"photo\u{202E}gpj.exe"#)
        #expect(DisplayText.escaped("a\u{2066}b\u{2069}") == #"a\u{2066}b\u{2069}"#)
        #expect(DisplayText.escaped("a\u{200F}b\u{61C}") == #"a\u{200F}b\u{61C}"#)
        #expect(DisplayText.escaped("line\nnext\ttab\rret\0nul") == #"line\nnext\ttab\rret\0nul"#)
        #expect(DisplayText.escaped("esc\u{1B}[31m") == #"esc\u{1B}[31m"#)
        #expect(DisplayText.escaped("del\u{7F}c1\u{85}") == #"del\u{7F}c1\u{85}"#)
    }

    @Test func backslashIsEscapedSoThatEveryEscapeIsUnambiguous() {
        // A name that is literally `a\u{202E}b` must not print like a name holding U+202E.
        #expect(DisplayText.escaped(#"a\u{202E}b"#) == #"a\\u{202E}b"#)
        #expect(DisplayText.escaped("a\u{202E}b") == #"a\u{202E}b"#)
    }

    @Test func bytesThatAreNotUTF8AreShownAsHex() {
        #expect(DisplayText.escaped(bytes: Array("caf".utf8) + [0xE9] + Array(".txt".utf8)) == #"caf\xe9.txt"#)
        // A valid sequence right after a bad byte is kept; overlong forms and surrogates are not UTF-8.
        #expect(DisplayText.escaped(bytes: [0xFF] + Array("\u{E9}".utf8)) == "\\xff\u{E9}")
        #expect(DisplayText.escaped(bytes: [0xC0, 0xAF]) == #"\xc0\xaf"#)
        #expect(DisplayText.escaped(bytes: [0xED, 0xA0, 0x80]) == #"\xed\xa0\x80"#)
        #expect(DisplayText.escaped(bytes: [0xE2, 0x82]) == #"\xe2\x82"#)
        #expect(DisplayText.escaped(bytes: Array("ok\u{202E}".utf8)) == #"ok\u{202E}"#)
    }

    @Test func codePointsAreNamed() {
        #expect(DisplayText.codePoint("\u{202E}") == "U+202E RIGHT-TO-LEFT OVERRIDE")
        #expect(DisplayText.codePoint("\u{61C}").hasPrefix("U+061C"))
        #expect(DisplayText.codePoint("\u{85}").hasPrefix("U+0085"))
    }
}

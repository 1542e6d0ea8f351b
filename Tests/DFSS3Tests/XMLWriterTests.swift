import Testing

@testable import DFSS3

@Suite struct XMLWriterTests {
    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func writesNestedElementsWithTheDeclaration() {
        var writer = XMLWriter()
        writer.element("Root", attributes: [("xmlns", "urn:x")]) { writer in
            writer.element("A", "1")
            writer.open("B")
            writer.element("C", "")
            writer.close()
        }
        #expect(text(writer.finish()) == #"<?xml version="1.0" encoding="UTF-8"?><Root xmlns="urn:x"><A>1</A><B><C></C></B></Root>"#)
        #expect(text(XMLWriter(declaration: false).finish()) == "")
    }

    @Test func escapesMarkupCharactersAndQuotes() {
        #expect(XMLWriter.escaped(#"a&b<c>d"e'f"#) == "a&amp;b&lt;c&gt;d&quot;e&apos;f")
        #expect(XMLWriter.escaped("\"3858f622\"") == "&quot;3858f622&quot;")
        var writer = XMLWriter(declaration: false)
        writer.element("E", "<&>", attributes: [("v", "\"'&")])
        #expect(text(writer.finish()) == "<E v=\"&quot;&apos;&amp;\">&lt;&amp;&gt;</E>")
    }

    @Test func writesTabLineFeedAndCarriageReturnAsReferences() {
        #expect(XMLWriter.escaped("a\tb\nc\rd\r\n") == "a&#9;b&#10;c&#13;d&#13;&#10;")
        #expect(XMLWriter.escaped("\u{7F}\u{85}\u{9F}") == "&#127;&#133;&#159;")
    }

    @Test func replacesCharactersXML10CannotCarry() {
        #expect(XMLWriter.escaped("a\u{0}b\u{1}c\u{1F}d\u{FFFE}e\u{FFFF}") == "a\u{FFFD}b\u{FFFD}c\u{FFFD}d\u{FFFD}e\u{FFFD}")
        #expect(XMLWriter.canCarry("plain ünïcødé \u{1F600}\t\n\r\u{7F}"))
        #expect(!XMLWriter.canCarry("a\u{1}"))
        #expect(!XMLWriter.canCarry("\u{FFFF}"))
    }

    @Test func keepsUnicodeAsIs() {
        #expect(XMLWriter.escaped("ключ/日本語/\u{1F600}") == "ключ/日本語/\u{1F600}")
    }

    /// What the writer writes, the reader reads back unchanged, for every character XML 1.0
    /// allows, whitespace and markup included.
    @Test func readerReadsBackWhatTheWriterWrites() throws {
        let samples = [
            "plain", "a b  c", " leading and trailing ", "tab\tline\nreturn\r\ncr\r", #"<&>"'"#, "]]>", "&amp; literally",
            "ünïcødé ключ 日本語 \u{1F600}", "\u{7F}\u{80}\u{9F}\u{A0}", "\u{D7FF}\u{E000}\u{FFFD}\u{10000}\u{10FFFF}",
        ]
        for sample in samples {
            var writer = XMLWriter()
            writer.element("Root", attributes: [("attribute", sample)]) { writer in
                writer.element("Key", sample)
            }
            let root = try XMLReader.parse(writer.finish())
            #expect(root.attribute("attribute") == sample)
            #expect(root.child("Key")?.text == sample)
        }
    }
}

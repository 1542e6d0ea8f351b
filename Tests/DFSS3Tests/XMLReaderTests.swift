import Testing

@testable import DFSS3

@Suite struct XMLReaderTests {
    func parse(_ text: String, limits: XMLLimits = .init()) throws(XMLError) -> XMLElement {
        try XMLReader.parse(Array(text.utf8), limits: limits)
    }

    /// The error `text` is refused with; fails the test when it is accepted.
    func refusal(_ text: String, limits: XMLLimits = .init(), sourceLocation: SourceLocation = #_sourceLocation) -> XMLError? {
        refusal(Array(text.utf8), limits: limits, sourceLocation: sourceLocation)
    }

    func refusal(_ bytes: [UInt8], limits: XMLLimits = .init(), sourceLocation: SourceLocation = #_sourceLocation) -> XMLError? {
        do {
            let root = try XMLReader.parse(bytes, limits: limits)
            Issue.record("accepted, root <\(root.name)>", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    @Test func readsTheBodyBotocoreSendsForCompleteMultipartUpload() throws {
        let body =
            #"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>"3858f62230ac3c915f300c664312c11f"</ETag><PartNumber>1</PartNumber></Part><Part><ETag>"5b27a21e5e1b8c2b9c3ab4d5a0f2f6ff"</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>"#
        let root = try parse(body)
        #expect(root.name == "CompleteMultipartUpload")
        #expect(root.attributes.count == 1)
        #expect(root.attribute("xmlns") == "http://s3.amazonaws.com/doc/2006-03-01/")
        #expect(root.children.map(\.name) == ["Part", "Part"])
        #expect(root.children[0].child("ETag")?.text == "\"3858f62230ac3c915f300c664312c11f\"")
        #expect(root.children[1].child("PartNumber")?.text == "2")
    }

    @Test func readsIndentedBodiesWithDeclarationCommentsAndCRLF() throws {
        let body =
            "\u{FEFF}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<!-- sent by hand -->\r\n<?client note?>\r\n"
            + "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\r\n  <Object>\r\n    <Key>a b.txt</Key>\r\n  </Object>\r\n"
            + "  <!-- a comment - with a dash -->\r\n  <Quiet>true</Quiet>\r\n</Delete>\r\n<!-- trailing -->\r\n"
        let root = try parse(body)
        #expect(root.name == "Delete")
        #expect(root.children.map(\.name) == ["Object", "Quiet"])
        #expect(root.child("Object")?.child("Key")?.text == "a b.txt")
        // Whitespace between children is kept as the element's text, line ends made \n.
        #expect(root.child("Object")?.text == "\n    \n  ")
    }

    @Test func dropsNamespacePrefixesFromNamesButKeepsDeclarations() throws {
        let root = try parse(#"<s3:Delete xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:Object><s3:Key>k</s3:Key></s3:Object></s3:Delete>"#)
        #expect(root.name == "Delete")
        #expect(root.attribute("xmlns:s3") == "http://s3.amazonaws.com/doc/2006-03-01/")
        #expect(root.child("Object")?.child("Key")?.text == "k")
    }

    @Test func resolvesTheFiveEntitiesAndCharacterReferences() throws {
        let root = try parse("<a x='&lt;&amp;&gt;' y=\"&quot;&apos;\">&lt;&amp;&gt;&quot;&apos; &#65;&#x42;&#x1F600;&#233;&#x9;&#10;&#13;</a>")
        #expect(root.attribute("x") == "<&>")
        #expect(root.attribute("y") == "\"'")
        #expect(root.text == "<&>\"' AB\u{1F600}\u{E9}\t\n\r")
    }

    @Test func etagsQuotedAsGoAndJavaWriteThemReadAsQuotes() throws {
        #expect(try parse("<ETag>&#34;abc&#34;</ETag>").text == "\"abc\"")
        #expect(try parse("<ETag>&quot;abc&quot;</ETag>").text == "\"abc\"")
    }

    @Test func keepsCDATAAsItStands() throws {
        let root = try parse("<Key>a<![CDATA[<&>]]]]>b<![CDATA[]]></Key>")
        #expect(root.text == "a<&>]]b")
    }

    @Test func normalizesWhitespaceInAttributeValues() throws {
        let root = try parse("<a v=\"1\t2\n3\r\n4\"/>")
        #expect(root.attribute("v") == "1 2 3 4")
        #expect(root.children.isEmpty && root.text.isEmpty)
    }

    @Test func readsEmptyElementsAndUnicodeNames() throws {
        let root = try parse("<Résumé><a/><b></b><c x=\"1\" /></Résumé>")
        #expect(root.name == "Résumé")
        #expect(root.children.map(\.name) == ["a", "b", "c"])
        #expect(root.children[2].attribute("x") == "1")
    }

    @Test func refusesDoctypeAndEntityDeclarations() {
        let billionLaughs = """
            <?xml version="1.0"?>
            <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
            <lolz>&lol2;</lolz>
            """
        #expect(refusal(billionLaughs)?.message.contains("document type declarations are refused") == true)
        #expect(refusal("<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a>&xxe;</a>")?.offset == 0)
        #expect(refusal("<a><!DOCTYPE b></a>")?.offset == 3)
        #expect(refusal("<a><!ENTITY x \"y\"></a>")?.offset == 3)
        #expect(refusal("<a>&xxe;</a>")?.message.contains("unknown entity &xxe;") == true)
    }

    @Test func refusesMismatchedAndUnclosedTags() {
        let mismatched = refusal("<a><b></a></b>")
        #expect(mismatched?.offset == 6)
        #expect(mismatched?.message == "end tag </a> does not match <b> opened at byte 3")
        #expect(refusal("<a><b></b>")?.message == "element <a> opened at byte 0 is not closed")
        #expect(refusal("<a")?.message.contains("not closed") == true)
        #expect(refusal("<a><b x=\"1></b></a>") != nil)
        #expect(refusal("<s3:a></a>") != nil)
        #expect(refusal("<a></a >x") != nil)
        #expect(refusal("<a></a") != nil)
        #expect(refusal("</a>") != nil)
    }

    @Test func refusesTextAndElementsOutsideTheRoot() {
        #expect(refusal("junk<a/>")?.message == "text before the root element")
        #expect(refusal("<a/>junk")?.message == "text after the root element")
        #expect(refusal("<a/><b/>")?.message == "a second element after the root element")
        #expect(refusal("")?.message == "the document has no root element")
        #expect(refusal("  <!-- only a comment -->  ")?.message == "the document has no root element")
    }

    @Test func refusesBytesThatAreNotUTF8() {
        #expect(refusal([0x3C, 0x61, 0x3E, 0xFF, 0x3C, 0x2F, 0x61, 0x3E]) == XMLError("the bytes are not UTF-8", at: 3))
        // An overlong encoding of "/" and an encoded surrogate are not UTF-8 either.
        #expect(refusal([0x3C, 0x61, 0x3E, 0xC0, 0xAF, 0x3C, 0x2F, 0x61, 0x3E])?.offset == 3)
        #expect(refusal([0x3C, 0x61, 0x3E, 0xED, 0xA0, 0x80, 0x3C, 0x2F, 0x61, 0x3E])?.offset == 3)
        // A sequence cut short at the end.
        #expect(refusal([0x3C, 0x61, 0x2F, 0x3E, 0xE2, 0x82])?.offset == 4)
    }

    @Test func refusesCharactersXML10DoesNotAllow() {
        #expect(refusal("<a>\u{1}</a>") == XMLError("character U+0001 is not allowed in XML 1.0", at: 3))
        #expect(refusal("<a>&#1;</a>")?.message.contains("U+0001") == true)
        #expect(refusal("<a>&#x0;</a>") != nil)
        #expect(refusal("<a>&#xD800;</a>") != nil)
        #expect(refusal("<a>&#xFFFE;</a>") != nil)
        #expect(refusal("<a>&#x110000;</a>") != nil)
        #expect(refusal("<a>&#xFFFFFFFFF;</a>") != nil)
        #expect(refusal("<a>&#;</a>") != nil)
        #expect(refusal("<a>&#x;</a>") != nil)
        #expect(refusal("<a>&#12a;</a>") != nil)
        #expect(refusal("<a>&#x1G;</a>") != nil)
    }

    @Test func refusesMalformedMarkup() {
        #expect(refusal("<a>&amp</a>") != nil)
        #expect(refusal("<a>a & b</a>") != nil)
        #expect(refusal("<a>]]></a>") != nil)
        #expect(refusal("<a><!-- a -- b --></a>") != nil)
        #expect(refusal("<a><!-- open</a>") != nil)
        #expect(refusal("<a><![CDATA[open</a>") != nil)
        #expect(refusal("<a><?pi open</a>") != nil)
        #expect(refusal("<a x=1/>") != nil)
        #expect(refusal("<a x=\"1\"y=\"2\"/>") != nil)
        #expect(refusal("<a x=\"1\" x=\"2\"/>")?.message == "attribute x appears twice on <a>")
        #expect(refusal("<a x=\"<\"/>") != nil)
        #expect(refusal("<a x/>") != nil)
        #expect(refusal("<1a/>") != nil)
        #expect(refusal("<a:b:c/>") != nil)
        #expect(refusal("<:a/>") != nil)
        #expect(refusal("<a/><?xml version=\"1.0\"?>") != nil)
        #expect(refusal("<?xml encoding=\"UTF-8\"?><a/>") != nil)
        #expect(refusal("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>")?.message.contains("only UTF-8") == true)
        #expect(refusal("<?xml version=\"1.0\"<a/>") != nil)
    }

    @Test func acceptsInputAtTheByteLimitAndRefusesOnePast() throws {
        let limits = XMLLimits(inputBytesMax: 64)
        let atLimit = "<a>" + String(repeating: "x", count: 64 - 7) + "</a>"
        #expect(atLimit.utf8.count == 64)
        #expect(try parse(atLimit, limits: limits).text.count == 57)
        #expect(refusal(atLimit + " ", limits: limits)?.offset == 64)
        #expect(XMLLimits().inputBytesMax == 2 * 1024 * 1024)
    }

    @Test func acceptsNestingAtTheDepthLimitAndRefusesOnePast() throws {
        func nested(_ depth: Int) -> String {
            String(repeating: "<e>", count: depth) + String(repeating: "</e>", count: depth)
        }
        var element = try parse(nested(32))
        var depth = 1
        while let child = element.children.first {
            element = child
            depth += 1
        }
        #expect(depth == 32)
        #expect(refusal(nested(33))?.message == "elements nest deeper than 32 levels")
        #expect(refusal(nested(33))?.offset == 32 * 3)
        // A body nested far deeper than the limit is refused at the limit, without recursion.
        #expect(refusal(String(repeating: "<e>", count: 100_000))?.offset == 32 * 3)
    }

    @Test func acceptsElementsAtTheCountLimitAndRefusesOnePast() throws {
        let limits = XMLLimits(elementCountMax: 100)
        let atLimit = "<r>" + String(repeating: "<e/>", count: 99) + "</r>"
        #expect(try parse(atLimit, limits: limits).children.count == 99)
        #expect(refusal("<r>" + String(repeating: "<e/>", count: 100) + "</r>", limits: limits)?.message == "the document has more than 100 elements")
        // The default admits a CompleteMultipartUpload of 10,000 parts with every checksum.
        #expect(XMLLimits().elementCountMax >= 1 + 10_000 * 8)
    }

    @Test func acceptsNamesAtTheLengthLimitAndRefusesOnePast() throws {
        let name = String(repeating: "n", count: 256)
        #expect(try parse("<\(name)/>").name == name)
        #expect(try parse("<a \(name)=\"v\"/>").attribute(name) == "v")
        #expect(refusal("<\(name)n/>")?.message == "a name is longer than 256 bytes")
        #expect(refusal("<a \(name)n=\"v\"/>")?.message == "a name is longer than 256 bytes")
    }

    @Test func acceptsAttributesAtTheCountLimitAndRefusesOnePast() throws {
        func element(_ count: Int) -> String {
            "<a" + (0..<count).map { " a\($0)=\"\($0)\"" }.joined() + "/>"
        }
        #expect(try parse(element(32)).attributes.count == 32)
        #expect(refusal(element(33))?.message == "<a> has more than 32 attributes")
    }

    @Test func errorsSayWhereTheProblemIs() {
        let error = XMLError("text after the root element", at: 4)
        #expect(error.description == "text after the root element (at byte 4)")
    }
}

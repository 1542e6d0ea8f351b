import DFSCore
import Foundation
import Testing

@testable import DFSS3

/// Real request bodies cut at every point and mutated at random. Seeded from DFS_FUZZ_SEED
/// when set; the seed is in every failure message.
@Suite struct XMLReaderFuzzTests {
    static let bodies: [[UInt8]] = [
        #"<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>"3858f62230ac3c915f300c664312c11f"</ETag><PartNumber>1</PartNumber><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part></CompleteMultipartUpload>"#,
        "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\r\n  <Object><Key>a &amp; b/ключ.txt</Key></Object>\n  <!-- c --><Quiet>true</Quiet>\n</Delete>",
        "<s3:CreateBucketConfiguration xmlns:s3='http://s3.amazonaws.com/doc/2006-03-01/'><s3:LocationConstraint><![CDATA[eu-west-1]]>&#x41;</s3:LocationConstraint></s3:CreateBucketConfiguration>",
    ].map { Array($0.utf8) }

    static let fragments: [[UInt8]] = [
        "<", ">", "&", ";", "</a>", "<a>", "<!DOCTYPE x>", "<!--", "-->", "]]>", "<![CDATA[", "&#x0;", "&#65;", "\"", "'", "=", "\u{1}", "\u{FFFE}", "<?xml?>",
        "\u{E9}",
    ].map { Array($0.utf8) }

    /// A document is complete only with its root's end tag: every shorter prefix is refused,
    /// with an offset inside the prefix.
    @Test func everyProperPrefixIsRefused() {
        for body in Self.bodies {
            #expect(throws: Never.self) { try XMLReader.parse(body) }
            for length in 0..<body.count {
                do {
                    _ = try XMLReader.parse(Array(body.prefix(length)))
                    Issue.record("a prefix of \(length) bytes was accepted")
                } catch {
                    #expect(error.offset <= length)
                }
            }
        }
    }

    /// A mutated body is refused with an offset inside it, or read into a tree that the writer
    /// writes and the reader reads back the same.
    @Test func mutatedBodiesAreRefusedOrRoundTrip() throws {
        let seed = ProcessInfo.processInfo.environment["DFS_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        var random = SplitMix64(seed: seed)
        var accepted = 0
        for round in 0..<3000 {
            var input = Self.bodies[round % Self.bodies.count]
            for _ in 0...Int.random(in: 0...3, using: &random) {
                let position = Int.random(in: 0...input.count, using: &random)
                switch Int.random(in: 0...2, using: &random) {
                case 0 where position < input.count:
                    input[position] = UInt8.random(in: 0...255, using: &random)
                case 1 where position < input.count:
                    input.remove(at: position)
                default:
                    input.insert(contentsOf: Self.fragments[Int.random(in: 0..<Self.fragments.count, using: &random)], at: position)
                }
            }
            switch Result(catching: { () throws(XMLError) in try XMLReader.parse(input) }) {
            case .success(let root):
                accepted += 1
                var writer = XMLWriter()
                Self.write(root, to: &writer)
                let again = try XMLReader.parse(writer.finish())
                #expect(Self.same(root, again), "seed \(seed), round \(round)")
            case .failure(let error):
                #expect((0...input.count).contains(error.offset), "seed \(seed), round \(round)")
            }
        }
        // Some mutations (a changed letter in a key) leave a valid document.
        #expect(accepted > 0, "seed \(seed)")
    }

    static func write(_ element: XMLElement, to writer: inout XMLWriter) {
        writer.element(element.name, attributes: element.attributes) { writer in
            if !element.text.isEmpty { writer.text(element.text) }
            for child in element.children { write(child, to: &writer) }
        }
    }

    static func same(_ first: XMLElement, _ second: XMLElement) -> Bool {
        first.name == second.name && first.text == second.text && first.attributes.map(\.0) == second.attributes.map(\.0)
            && first.attributes.map(\.1) == second.attributes.map(\.1) && first.children.count == second.children.count
            && zip(first.children, second.children).allSatisfy { same($0, $1) }
    }
}

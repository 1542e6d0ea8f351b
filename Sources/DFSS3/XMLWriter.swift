/// Writes an XML document element by element: `open`, `element` (a leaf with text), `close`.
///
/// Element names and attribute names are the program's own constants; text and attribute
/// values may come from clients (object keys, prefixes, markers) and are escaped here:
/// `&`, `<`, `>`, `"` and `'` as the five entities (as S3 writes them: an ETag appears as
/// `&quot;…&quot;`), tab, line feed and carriage return as character references so that a
/// reader's line-end and attribute normalization gives them back unchanged, and DEL and the
/// C1 controls as references too, so they are visible in the bytes. The other C0 controls
/// and U+FFFE/U+FFFF cannot appear in an XML 1.0 document at all, not even as references;
/// they are written as U+FFFD. A listing whose keys hold such characters is written with
/// EncodingType=url instead (``S3Documents``), so no key is ever altered there.
public struct XMLWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    private var openNames: [String] = []

    /// A writer whose document starts with `<?xml version="1.0" encoding="UTF-8"?>`.
    public init(declaration: Bool = true) {
        if declaration { bytes.append(contentsOf: Array(#"<?xml version="1.0" encoding="UTF-8"?>"#.utf8)) }
    }

    /// `<name attributes...>`, to be ended by ``close()``.
    public mutating func open(_ name: String, attributes: [(String, String)] = []) {
        writeStartTag(name, attributes: attributes)
        openNames.append(name)
    }

    /// The end tag of the innermost open element.
    public mutating func close() {
        precondition(!openNames.isEmpty, "close() without an open element")
        let name = openNames.removeLast()
        bytes.append(contentsOf: Array("</\(name)>".utf8))
    }

    /// `<name>text</name>`, the text escaped.
    public mutating func element(_ name: String, _ text: String, attributes: [(String, String)] = []) {
        writeStartTag(name, attributes: attributes)
        Self.appendEscaped(text, to: &bytes)
        bytes.append(contentsOf: Array("</\(name)>".utf8))
    }

    /// Character data inside the open element, escaped.
    public mutating func text(_ text: String) {
        Self.appendEscaped(text, to: &bytes)
    }

    /// `<name>` … `</name>` around what `body` writes.
    public mutating func element(_ name: String, attributes: [(String, String)] = [], body: (inout XMLWriter) -> Void) {
        open(name, attributes: attributes)
        body(&self)
        close()
    }

    /// The document; every element must be closed.
    public func finish() -> [UInt8] {
        precondition(openNames.isEmpty, "elements left open: \(openNames)")
        return bytes
    }

    private mutating func writeStartTag(_ name: String, attributes: [(String, String)]) {
        bytes.append(UInt8(ascii: "<"))
        bytes.append(contentsOf: Array(name.utf8))
        for (attributeName, value) in attributes {
            bytes.append(contentsOf: Array(" \(attributeName)=\"".utf8))
            Self.appendEscaped(value, to: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: ">"))
    }

    /// `text` as XML character data (or an attribute value); see the type's comment.
    public static func escaped(_ text: String) -> String {
        var bytes: [UInt8] = []
        appendEscaped(text, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// True when every character of `text` can appear in an XML 1.0 document, literally or
    /// as a reference.
    public static func canCarry(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { XMLCharacters.isAllowed($0.value) }
    }

    static func appendEscaped(_ text: String, to bytes: inout [UInt8]) {
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x26: bytes.append(contentsOf: Array("&amp;".utf8))
            case 0x3C: bytes.append(contentsOf: Array("&lt;".utf8))
            case 0x3E: bytes.append(contentsOf: Array("&gt;".utf8))
            case 0x22: bytes.append(contentsOf: Array("&quot;".utf8))
            case 0x27: bytes.append(contentsOf: Array("&apos;".utf8))
            case 0x9, 0xA, 0xD, 0x7F...0x9F: bytes.append(contentsOf: Array("&#\(scalar.value);".utf8))
            case let value where !XMLCharacters.isAllowed(value): bytes.append(contentsOf: Array("\u{FFFD}".utf8))
            default: Unicode.UTF8.encode(scalar) { bytes.append($0) }
            }
        }
    }
}

/// The state of one parse: the input, where the scanner is, and how many elements it has seen.
/// Every `throw` names what was wrong and the offset where it was found.
struct XMLScanner {
    let bytes: [UInt8]
    let limits: XMLLimits
    var position = 0
    var elementCount = 0

    /// An element whose end tag has not come yet: its name as written, for matching the end
    /// tag, and its character data so far.
    struct OpenElement {
        var qualifiedName: [UInt8]
        var start: Int
        var element: XMLElement
        var text: [UInt8] = []
    }

    init(bytes: [UInt8], limits: XMLLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    mutating func document() throws(XMLError) -> XMLElement {
        if hasPrefix([0xEF, 0xBB, 0xBF]) { position = 3 }
        if hasPrefix("<?xml"), position + 5 < bytes.count, Self.isWhitespace(bytes[position + 5]) {
            try declaration()
        }
        try skipMisc()
        guard position < bytes.count else { throw XMLError("the document has no root element", at: position) }
        guard bytes[position] == UInt8(ascii: "<") else { throw XMLError("text before the root element", at: position) }
        if hasPrefix("</") { throw XMLError("an end tag before the root element", at: position) }
        let root = try rootElement()
        try skipMisc()
        guard position == bytes.count else {
            if bytes[position] == UInt8(ascii: "<") { throw XMLError("a second element after the root element", at: position) }
            throw XMLError("text after the root element", at: position)
        }
        return root
    }

    // MARK: Outside the root

    /// `<?xml version="1.0" encoding="UTF-8"?>`: only UTF-8 (or no encoding named) is read.
    mutating func declaration() throws(XMLError) {
        let start = position
        guard let end = find("?>", from: position) else { throw XMLError("the XML declaration is not closed", at: start) }
        let content = String(decoding: bytes[(start + 5)..<end], as: UTF8.self)
        guard content.contains("version") else { throw XMLError("the XML declaration has no version", at: start) }
        if let range = content.range(of: "encoding") {
            let rest = content[range.upperBound...].drop { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "'" || $0 == "\t" }
            let name = rest.prefix { $0 != "\"" && $0 != "'" && $0 != " " }.lowercased()
            guard name == "utf-8" || name == "utf8" else {
                throw XMLError("the document declares encoding \(name); only UTF-8 is read", at: start)
            }
        }
        position = end + 2
    }

    /// Whitespace, comments and processing instructions, before or after the root.
    mutating func skipMisc() throws(XMLError) {
        while position < bytes.count {
            if Self.isWhitespace(bytes[position]) {
                position += 1
            } else if hasPrefix("<!--") {
                try comment()
            } else if hasPrefix("<?") {
                try processingInstruction()
            } else if hasPrefix("<!DOCTYPE") || hasPrefix("<!doctype") {
                throw XMLError("document type declarations are refused (no DTDs, no entity declarations)", at: position)
            } else if hasPrefix("<!") {
                throw XMLError("a markup declaration outside the root element", at: position)
            } else {
                return
            }
        }
    }

    // MARK: Elements

    /// The root element and everything inside it, read without recursion.
    mutating func rootElement() throws(XMLError) -> XMLElement {
        let (root, rootIsEmpty) = try startTag()
        if rootIsEmpty { return root.element }
        var stack = [root]
        while let open = stack.last {
            guard position < bytes.count else {
                throw XMLError("element <\(open.element.name)> opened at byte \(open.start) is not closed", at: position)
            }
            let top = stack.count - 1
            switch bytes[position] {
            case UInt8(ascii: "<"):
                if hasPrefix("</") {
                    try endTag(of: open)
                    var closed = stack.removeLast()
                    closed.element.text = String(decoding: closed.text, as: UTF8.self)
                    if stack.isEmpty { return closed.element }
                    stack[stack.count - 1].element.children.append(closed.element)
                } else if hasPrefix("<!--") {
                    try comment()
                } else if hasPrefix("<![CDATA[") {
                    try cdata(into: &stack[top].text)
                } else if hasPrefix("<?") {
                    try processingInstruction()
                } else if hasPrefix("<!") {
                    throw XMLError("markup declarations (<!DOCTYPE, <!ENTITY) are refused", at: position)
                } else {
                    guard stack.count < limits.depthMax else {
                        throw XMLError("elements nest deeper than \(limits.depthMax) levels", at: position)
                    }
                    let (child, childIsEmpty) = try startTag()
                    if childIsEmpty {
                        stack[top].element.children.append(child.element)
                    } else {
                        stack.append(child)
                    }
                }
            case UInt8(ascii: "&"):
                try reference(into: &stack[top].text)
            default:
                try characterData(into: &stack[top].text)
            }
        }
        // The loop returns when the root closes; an empty stack cannot be reached otherwise.
        throw XMLError("the root element is not closed", at: position)
    }

    /// `<name attribute="value" ...>` or `<name .../>`; true when the element is empty.
    mutating func startTag() throws(XMLError) -> (OpenElement, Bool) {
        let start = position
        position += 1
        let qualifiedName = try name()
        elementCount += 1
        guard elementCount <= limits.elementCountMax else {
            throw XMLError("the document has more than \(limits.elementCountMax) elements", at: start)
        }
        var element = XMLElement(name: try localName(qualifiedName, at: start + 1))
        while true {
            let hadWhitespace = skipWhitespace()
            guard position < bytes.count else { throw XMLError("the start tag of <\(element.name)> is not closed", at: start) }
            if hasPrefix("/>") {
                position += 2
                return (OpenElement(qualifiedName: qualifiedName, start: start, element: element), true)
            }
            if bytes[position] == UInt8(ascii: ">") {
                position += 1
                return (OpenElement(qualifiedName: qualifiedName, start: start, element: element), false)
            }
            guard hadWhitespace else { throw XMLError("expected whitespace, > or /> in the start tag of <\(element.name)>", at: position) }
            let attributeStart = position
            let attributeName = String(decoding: try name(), as: UTF8.self)
            guard element.attributes.count < limits.attributesPerElementMax else {
                throw XMLError("<\(element.name)> has more than \(limits.attributesPerElementMax) attributes", at: attributeStart)
            }
            guard !element.attributes.contains(where: { $0.0 == attributeName }) else {
                throw XMLError("attribute \(attributeName) appears twice on <\(element.name)>", at: attributeStart)
            }
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "=") else {
                throw XMLError("expected = after attribute \(attributeName)", at: position)
            }
            position += 1
            skipWhitespace()
            element.attributes.append((attributeName, try attributeValue()))
        }
    }

    /// `</name>`, which must name the innermost open element as it was written.
    mutating func endTag(of open: OpenElement) throws(XMLError) {
        let start = position
        position += 2
        let qualifiedName = try name()
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: ">") else { throw XMLError("the end tag is not closed with >", at: position) }
        position += 1
        guard qualifiedName == open.qualifiedName else {
            let found = String(decoding: qualifiedName, as: UTF8.self)
            let expected = String(decoding: open.qualifiedName, as: UTF8.self)
            throw XMLError("end tag </\(found)> does not match <\(expected)> opened at byte \(open.start)", at: start)
        }
    }

    /// A quoted attribute value, references resolved and literal whitespace made spaces
    /// (XML 1.0 §3.3.3).
    mutating func attributeValue() throws(XMLError) -> String {
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") || bytes[position] == UInt8(ascii: "'") else {
            throw XMLError("an attribute value must be quoted", at: position)
        }
        let start = position
        let quote = bytes[position]
        position += 1
        var value: [UInt8] = []
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case quote:
                position += 1
                return String(decoding: value, as: UTF8.self)
            case UInt8(ascii: "<"):
                throw XMLError("< inside an attribute value", at: position)
            case UInt8(ascii: "&"):
                try reference(into: &value)
            case UInt8(ascii: "\r"):
                value.append(UInt8(ascii: " "))
                position += hasPrefix("\r\n") ? 2 : 1
            case UInt8(ascii: "\n"), UInt8(ascii: "\t"):
                value.append(UInt8(ascii: " "))
                position += 1
            default:
                value.append(byte)
                position += 1
            }
        }
        throw XMLError("the attribute value is not closed", at: start)
    }

    // MARK: Content

    /// Text up to the next `<` or `&`, with line ends made `\n` (XML 1.0 §2.11).
    mutating func characterData(into text: inout [UInt8]) throws(XMLError) {
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "<") || byte == UInt8(ascii: "&") { return }
            if byte == UInt8(ascii: "]"), hasPrefix("]]>") { throw XMLError("]]> outside a CDATA section", at: position) }
            if byte == UInt8(ascii: "\r") {
                text.append(UInt8(ascii: "\n"))
                position += hasPrefix("\r\n") ? 2 : 1
            } else {
                text.append(byte)
                position += 1
            }
        }
    }

    /// `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&#65;` or `&#x41;`; nothing else, since
    /// no other entity can be declared.
    mutating func reference(into text: inout [UInt8]) throws(XMLError) {
        let start = position
        // The longest reference is `&#x0010FFFF;` with a few leading zeros; 16 bytes bound the search.
        let searchEnd = min(bytes.count, position + 16)
        guard let semicolon = bytes[position..<searchEnd].firstIndex(of: UInt8(ascii: ";")) else {
            throw XMLError("& must start a reference ending in ; (write &amp; for a literal &)", at: start)
        }
        let body = Array(bytes[(position + 1)..<semicolon])
        position = semicolon + 1
        if body.first == UInt8(ascii: "#") {
            var digits = body.dropFirst()
            var radix: UInt32 = 10
            if digits.first == UInt8(ascii: "x") {
                radix = 16
                digits = digits.dropFirst()
            }
            guard !digits.isEmpty, digits.count <= 8 else { throw XMLError("a character reference needs 1 to 8 digits", at: start) }
            var value: UInt32 = 0
            for digit in digits {
                guard let digitValue = Self.digitValue(digit, radix: radix) else {
                    throw XMLError("\(radix == 16 ? "a hexadecimal" : "a decimal") character reference has a non-digit", at: start)
                }
                // Eight hexadecimal digits fit a UInt32 exactly, so this cannot overflow.
                value = value &* radix &+ digitValue
            }
            guard XMLCharacters.isAllowed(value), let scalar = Unicode.Scalar(value) else {
                throw XMLError("character reference to \(XMLCharacters.codePoint(value)), which XML 1.0 does not allow", at: start)
            }
            Unicode.UTF8.encode(scalar) { text.append($0) }
            return
        }
        switch String(decoding: body, as: UTF8.self) {
        case "amp": text.append(UInt8(ascii: "&"))
        case "lt": text.append(UInt8(ascii: "<"))
        case "gt": text.append(UInt8(ascii: ">"))
        case "quot": text.append(UInt8(ascii: "\""))
        case "apos": text.append(UInt8(ascii: "'"))
        case let name:
            throw XMLError("unknown entity &\(name); (only &amp; &lt; &gt; &quot; &apos; and character references exist here)", at: start)
        }
    }

    /// `<![CDATA[...]]>`: its content is text as it stands.
    mutating func cdata(into text: inout [UInt8]) throws(XMLError) {
        let start = position
        guard let end = find("]]>", from: position + 9) else { throw XMLError("the CDATA section is not closed", at: start) }
        var index = position + 9
        while index < end {
            if bytes[index] == UInt8(ascii: "\r") {
                text.append(UInt8(ascii: "\n"))
                index += index + 1 < end && bytes[index + 1] == UInt8(ascii: "\n") ? 2 : 1
            } else {
                text.append(bytes[index])
                index += 1
            }
        }
        position = end + 3
    }

    /// `<!-- ... -->`, skipped; `--` may not appear inside (XML 1.0 §2.5).
    mutating func comment() throws(XMLError) {
        let start = position
        guard let end = find("--", from: position + 4) else { throw XMLError("the comment is not closed", at: start) }
        guard end + 2 < bytes.count, bytes[end + 2] == UInt8(ascii: ">") else { throw XMLError("-- inside a comment", at: end) }
        position = end + 3
    }

    /// `<?target ...?>`, skipped; a second XML declaration is an error.
    mutating func processingInstruction() throws(XMLError) {
        let start = position
        position += 2
        let target = String(decoding: try name(), as: UTF8.self)
        guard target.lowercased() != "xml" else { throw XMLError("an XML declaration that is not at the start of the document", at: start) }
        guard let end = find("?>", from: position) else { throw XMLError("the processing instruction is not closed", at: start) }
        position = end + 2
    }

    // MARK: Names and bytes

    /// A name (`Name` in XML 1.0, with any non-ASCII character allowed), at most
    /// ``XMLLimits/nameBytesMax`` bytes.
    mutating func name() throws(XMLError) -> [UInt8] {
        let start = position
        guard position < bytes.count, Self.isNameStart(bytes[position]) else { throw XMLError("expected a name", at: position) }
        while position < bytes.count, Self.isNameStart(bytes[position]) || Self.isNameContinuation(bytes[position]) {
            position += 1
            guard position - start <= limits.nameBytesMax else {
                throw XMLError("a name is longer than \(limits.nameBytesMax) bytes", at: start)
            }
        }
        return Array(bytes[start..<position])
    }

    /// The name without its namespace prefix: `s3:Part` is `Part`.
    func localName(_ qualifiedName: [UInt8], at offset: Int) throws(XMLError) -> String {
        let parts = qualifiedName.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty }), let last = parts.last else {
            throw XMLError("\(String(decoding: qualifiedName, as: UTF8.self)) is not a valid qualified name", at: offset)
        }
        return String(decoding: last, as: UTF8.self)
    }

    @discardableResult
    mutating func skipWhitespace() -> Bool {
        let start = position
        while position < bytes.count, Self.isWhitespace(bytes[position]) { position += 1 }
        return position > start
    }

    func hasPrefix(_ text: StaticString) -> Bool {
        hasPrefix(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    func hasPrefix<Pattern: Collection<UInt8>>(_ pattern: Pattern) -> Bool {
        guard bytes.count - position >= pattern.count else { return false }
        return zip(bytes[position...], pattern).allSatisfy { $0 == $1 }
    }

    /// The offset of the first `pattern` at or after `start`, or nil.
    func find(_ pattern: StaticString, from start: Int) -> Int? {
        let needle = Array(UnsafeBufferPointer(start: pattern.utf8Start, count: pattern.utf8CodeUnitCount))
        guard start >= 0, bytes.count >= needle.count else { return nil }
        var index = start
        while index + needle.count <= bytes.count {
            if bytes[index] == needle[0], bytes[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    static func isNameStart(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":") || byte >= 0x80
    }

    static func isNameContinuation(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }

    static func digitValue(_ byte: UInt8, radix: UInt32) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F") where radix == 16: UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}

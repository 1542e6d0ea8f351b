/// A reader for the small XML bodies S3 requests carry (CompleteMultipartUpload, Delete,
/// CreateBucketConfiguration): XML 1.0 in UTF-8, with namespaces, and nothing that can make a
/// document grow once read.
///
/// A document type declaration is refused outright, so no entity can be declared: the five
/// predefined entities and character references are all there is, and a "billion laughs"
/// body is refused at its first byte of `<!DOCTYPE` rather than expanded. Everything that can
/// grow has a limit (``XMLLimits``), checked before the thing is kept, and the reader keeps
/// its open elements on an explicit stack, so a deeply nested body never deepens the call stack.
public enum XMLReader {
    /// The root element of `bytes`, or the first problem found, with its byte offset.
    public static func parse(_ bytes: [UInt8], limits: XMLLimits = .init()) throws(XMLError) -> XMLElement {
        guard bytes.count <= limits.inputBytesMax else {
            throw XMLError("the document is \(bytes.count) bytes long; at most \(limits.inputBytesMax) are read", at: limits.inputBytesMax)
        }
        try checkCharacters(bytes)
        var scanner = XMLScanner(bytes: bytes, limits: limits)
        return try scanner.document()
    }

    /// Throws unless `bytes` are UTF-8 (no overlong forms, no surrogates) of characters XML 1.0
    /// allows; the scanner then works on bytes, knowing every sequence is a whole character.
    static func checkCharacters(_ bytes: [UInt8]) throws(XMLError) {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                guard XMLCharacters.isAllowed(scalar.value) else {
                    throw XMLError("character \(XMLCharacters.codePoint(scalar.value)) is not allowed in XML 1.0", at: offset)
                }
                offset &+= encoded.count
            case .error:
                throw XMLError("the bytes are not UTF-8", at: offset)
            case .emptyInput:
                return
            }
        }
    }
}

/// Which characters XML 1.0 can carry (its `Char` production, §2.2).
enum XMLCharacters {
    static func isAllowed(_ value: UInt32) -> Bool {
        switch value {
        case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x1_0000...0x10_FFFF: true
        default: false
        }
    }

    /// `U+0001`, for messages.
    static func codePoint(_ value: UInt32) -> String {
        let hex = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}

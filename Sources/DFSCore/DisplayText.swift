/// Names and paths made safe to print on a terminal.
///
/// A name can hold characters that make a listing show something other than what is stored:
/// a newline that starts a line of its own, an escape sequence, or a bidirectional control
/// (`photo`, U+202E RIGHT-TO-LEFT OVERRIDE, `gpj.exe` reads as `photoexe.jpg`). Those are printed as escapes instead, and so is the backslash, so that
/// the escaped text stands for exactly one name: `\\`, `\0`, `\t`, `\n`, `\r`, `\u{1B}`
/// (C0, DEL, C1 and bidirectional controls), and `\xe9` for a byte that is not UTF-8 (a
/// local name).
public enum DisplayText {
    /// `text` with every character that could mislead a reader escaped.
    public static func escaped(_ text: String) -> String {
        // Most names need nothing: return them as they are, without building a copy.
        guard text.unicodeScalars.contains(where: { $0 == "\\" || isMisleading($0) }) else { return text }
        var result = ""
        for scalar in text.unicodeScalars { append(scalar, to: &result) }
        return result
    }

    /// Bytes of a local name, which may not be UTF-8: valid sequences as characters (escaped
    /// as ``escaped(_:)`` does), every other byte as `\xNN`.
    public static func escaped(bytes: some Collection<UInt8>) -> String {
        let bytes = Array(bytes)
        var result = ""
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            let length = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 0
            // One sequence decoded on its own: the decoder refuses overlong forms, surrogates
            // and values past U+10FFFF, and a byte that starts no valid sequence is shown as
            // an escape while decoding goes on at the next byte.
            if length > 0, index + length <= bytes.count {
                var sequence = bytes[index..<(index + length)].makeIterator()
                var decoder = UTF8()
                if case .scalarValue(let scalar) = decoder.decode(&sequence) {
                    append(scalar, to: &result)
                    index += length
                    continue
                }
            }
            result += "\\x" + hex(lead, uppercase: false)
            index += 1
        }
        return result
    }

    /// The escapes ``escaped(_:)`` uses for one character, or the character itself.
    private static func append(_ scalar: Unicode.Scalar, to result: inout String) {
        switch scalar {
        case "\\": result += "\\\\"
        case "\0": result += "\\0"
        case "\t": result += "\\t"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        default:
            if isMisleading(scalar) {
                result += "\\u{" + hex(scalar.value) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }

    /// Control characters (C0, DEL, C1) and the bidirectional controls: embeddings and
    /// overrides (U+202A to U+202E), isolates (U+2066 to U+2069) and the marks U+200E, U+200F
    /// and U+061C. New names may not hold them (``DFSPath/validateForCreation()``); stored
    /// ones are printed escaped.
    public static func isMisleading(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: true
        default: false
        }
    }

    /// `U+202E RIGHT-TO-LEFT OVERRIDE`, for messages that name a refused character.
    public static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hexDigits = hex(scalar.value)
        let code = "U+" + String(repeating: "0", count: max(0, 4 - hexDigits.count)) + hexDigits
        if let name = scalar.properties.name ?? scalar.properties.nameAlias { return "\(code) \(name)" }
        switch scalar.value {
        case 0x00...0x1F, 0x7F: return "\(code) (a control character)"
        case 0x80...0x9F: return "\(code) (a C1 control character)"
        default: return code
        }
    }

    private static func hex(_ value: some BinaryInteger, uppercase: Bool = true) -> String {
        let digits = String(value, radix: 16, uppercase: uppercase)
        return digits.count == 1 ? "0" + digits : digits
    }
}

extension S3Documents {
    /// `text` as S3 writes a key in a listing asked for with `encoding-type=url`: UTF-8 bytes
    /// percent-encoded (upper-case hex) except letters, digits, `-`, `_`, `.`, `/` and `*`, and
    /// a space as `+` (HTML form encoding, which is how S3 writes `a b` as `a+b`).
    ///
    /// Clients decode it as form data: botocore with `unquote_plus`, which turns `+` into a
    /// space, so a `+` in a key must be written `%2B`; `%` and every byte XML 1.0 cannot carry
    /// (the C0 controls) are percent-encoded like the rest.
    public static func urlEncoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        let hexDigits = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: "*"):
                bytes.append(byte)
            case UInt8(ascii: " "):
                bytes.append(UInt8(ascii: "+"))
            default:
                bytes.append(UInt8(ascii: "%"))
                bytes.append(hexDigits[Int(byte >> 4)])
                bytes.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The encoding a listing is written with: the one asked for, or `url` when some key or
    /// parameter holds a character XML 1.0 cannot carry (a C0 control from a query's prefix),
    /// so that nothing is altered; the response says `<EncodingType>url</EncodingType>` then,
    /// which is what clients decode by.
    static func listingEncoding(asked: S3EncodingType?, texts: [String]) -> S3EncodingType? {
        if asked != nil { return asked }
        return texts.allSatisfy(XMLWriter.canCarry) ? nil : .url
    }

    /// `text` encoded as `encoding` says.
    static func encode(_ text: String, _ encoding: S3EncodingType?) -> String {
        encoding == .url ? urlEncoded(text) : text
    }
}

extension SigV4 {
    /// The canonical request: what the client signed, rebuilt from what it sent.
    static func canonicalRequest(
        method: String, path: String, query: String, request: SigV4Request, signedHeaders: [String], payloadHash: String
    ) -> String {
        var text = "\(method)\n\(path)\n\(query)\n"
        for name in signedHeaders {
            let value = request.values(of: name).map(trimmingHeaderValue).joined(separator: ",")
            text += "\(name):\(value)\n"
        }
        text += "\n\(signedHeaders.joined(separator: ";"))\n\(payloadHash)"
        return text
    }

    /// The paths a client may have signed for `rawPath`: the path exactly as sent (what S3 signs:
    /// it does not encode the path a second time), and, when it differs, the path with each
    /// byte encoded as RFC 3986 says (unreserved bytes bare, every other byte but `/` as `%XX`
    /// in upper case). A client may send a byte bare that it signed encoded: AWS's own example
    /// sends `/test$file.text` and signs `/test%24file.text`. Both forms decode to the same
    /// key, so accepting either lets nobody reach another object. Dot segments are left alone.
    static func canonicalPaths(_ rawPath: String) -> [String] {
        let asSent = rawPath.isEmpty ? "/" : rawPath
        var normalised: [UInt8] = []
        let bytes = Array(asSent.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count, let decoded = hexByte(bytes[index + 1], bytes[index + 2]) {
                // An escaped `/` stays escaped: it is part of a key, not a separator.
                appendEncoded(decoded, to: &normalised, keepingSlash: false)
                index += 3
            } else {
                appendEncoded(byte, to: &normalised, keepingSlash: true)
                index += 1
            }
        }
        let encoded = String(decoding: normalised, as: UTF8.self)
        return encoded == asSent ? [asSent] : [asSent, encoded]
    }

    /// The query's parameters, names and values percent-decoded, in the order sent. Empty
    /// pieces (`a=1&&b=2`) are dropped; a name without `=` has an empty value. A `+` is a
    /// space, as in a form: botocore sends `prefix=a+b` for the `prefix=a%20b` it signs (and
    /// `%2B` for a `+`).
    static func queryParameters(_ rawQuery: String) -> [(name: [UInt8], value: [UInt8])] {
        rawQuery.utf8.split(separator: UInt8(ascii: "&")).map { piece in
            if let equals = piece.firstIndex(of: UInt8(ascii: "=")) {
                return (
                    name: percentDecoded(piece[..<equals], plusIsSpace: true),
                    value: percentDecoded(piece[piece.index(after: equals)...], plusIsSpace: true)
                )
            }
            return (name: percentDecoded(piece, plusIsSpace: true), value: [])
        }
    }

    /// The canonical query: each name and value encoded as RFC 3986 says, sorted by name and
    /// then value, joined by `&`; the parameter named `excluded` left out.
    static func canonicalQuery(_ parameters: [(name: [UInt8], value: [UInt8])], excluding excluded: String? = nil) -> String {
        let excludedBytes = excluded.map { Array($0.utf8) }
        var encoded: [(name: [UInt8], value: [UInt8])] = []
        for parameter in parameters where parameter.name != excludedBytes {
            var name: [UInt8] = []
            var value: [UInt8] = []
            for byte in parameter.name { appendEncoded(byte, to: &name, keepingSlash: false) }
            for byte in parameter.value { appendEncoded(byte, to: &value, keepingSlash: false) }
            encoded.append((name: name, value: value))
        }
        encoded.sort { first, second in
            first.name == second.name ? first.value.lexicographicallyPrecedes(second.value) : first.name.lexicographicallyPrecedes(second.name)
        }
        return encoded.map { String(decoding: $0.name + [UInt8(ascii: "=")] + $0.value, as: UTF8.self) }.joined(separator: "&")
    }

    /// A header value as the canonical request carries it: spaces and tabs trimmed from both
    /// ends and each inner run of them made one space.
    static func trimmingHeaderValue(_ value: String) -> String {
        var result: [UInt8] = []
        var pendingSpace = false
        for byte in value.utf8 {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
                pendingSpace = !result.isEmpty
            } else {
                if pendingSpace { result.append(UInt8(ascii: " ")) }
                pendingSpace = false
                result.append(byte)
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    static func percentDecoded(_ bytes: some Collection<UInt8>, plusIsSpace: Bool) -> [UInt8] {
        let bytes = Array(bytes)
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count, let decoded = hexByte(bytes[index + 1], bytes[index + 2]) {
                result.append(decoded)
                index += 3
            } else if plusIsSpace, bytes[index] == UInt8(ascii: "+") {
                result.append(UInt8(ascii: " "))
                index += 1
            } else {
                // A `%` that starts no escape is taken as itself, and encoded again as `%25`.
                result.append(bytes[index])
                index += 1
            }
        }
        return result
    }

    private static func appendEncoded(_ byte: UInt8, to output: inout [UInt8], keepingSlash: Bool) {
        if isUnreserved(byte) || (keepingSlash && byte == UInt8(ascii: "/")) {
            output.append(byte)
        } else {
            let digits = Array("0123456789ABCDEF".utf8)
            output.append(UInt8(ascii: "%"))
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0x0F)])
        }
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~")
    }

    private static func hexByte(_ high: UInt8, _ low: UInt8) -> UInt8? {
        guard let high = hexValue(high), let low = hexValue(low) else { return nil }
        return high << 4 | low
    }

    static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

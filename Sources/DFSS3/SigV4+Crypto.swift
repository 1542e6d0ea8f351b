import Crypto

extension SigV4 {
    /// The SHA-256 of nothing, in hex.
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The key of one day, region and service: HMACs of the scope's parts, starting from the secret key.
    static func signingKey(secretKey: String, date: String, region: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array("AWS4\(secretKey)".utf8))
        for part in [date, region, "s3", "aws4_request"] {
            key = SymmetricKey(data: hmac(key, part))
        }
        return key
    }

    static func hmac(_ key: SymmetricKey, _ message: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: key))
    }

    static func sha256Hex(_ bytes: some Sequence<UInt8>) -> String {
        var hash = SHA256()
        hash.update(data: Array(bytes))
        return hex(hash.finalize())
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// True when `text` is 64 hex digits (either case), the shape of every signature and hash.
    static func isHash(_ text: some StringProtocol) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { isHexDigit($0) }
    }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }

    /// Compares two signatures in time that depends on their length only, so that the time a
    /// refusal takes does not tell an attacker how many leading characters of a guess were right.
    static func constantTimeEqual(_ first: String, _ second: String) -> Bool {
        let first = Array(first.lowercased().utf8)
        let second = Array(second.lowercased().utf8)
        guard first.count == second.count else { return false }
        var difference: UInt8 = 0
        for index in first.indices {
            difference |= first[index] ^ second[index]
        }
        return difference == 0
    }
}

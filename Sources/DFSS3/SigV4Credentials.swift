/// The access keys the gateway accepts, each with its secret key.
public struct S3Credentials: Sendable {
    private let secretKeys: [String: String]

    /// Later pairs win over earlier ones with the same access key.
    public init(_ pairs: [(accessKey: String, secretKey: String)]) {
        var secretKeys: [String: String] = [:]
        for pair in pairs {
            secretKeys[pair.accessKey] = pair.secretKey
        }
        self.secretKeys = secretKeys
    }

    /// One `ACCESS_KEY SECRET_KEY` pair per line, separated by spaces or tabs; blank lines and
    /// lines starting with `#` are skipped; anything else throws
    /// ``S3AuthError/malformedCredentials(line:)`` with the line's number, from 1.
    public static func parse(_ text: String) throws(S3AuthError) -> S3Credentials {
        var pairs: [(accessKey: String, secretKey: String)] = []
        // `\r\n` is one Character, and a newline.
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.isEmpty || fields[0].hasPrefix("#") { continue }
            // A `/` in an access key would make the credential scope ambiguous.
            guard fields.count == 2, !fields[0].contains("/") else { throw .malformedCredentials(line: index + 1) }
            pairs.append((accessKey: String(fields[0]), secretKey: String(fields[1])))
        }
        return S3Credentials(pairs)
    }

    public func secretKey(for accessKey: String) -> String? {
        secretKeys[accessKey]
    }

    public var isEmpty: Bool { secretKeys.isEmpty }
}

/// Identifies a block across the whole cluster. Assigned by the meta server, never reused.
public struct BlockID: RawRepresentable, Codable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    /// Decodes an id a peer sent. An id the meta server could never have assigned (above
    /// ``Limits/blockIDMax``, beyond SQLite's signed integers) is refused here, as a value
    /// (`invalidArgument`), so no handler ever converts one.
    public init(from decoder: any Decoder) throws {
        let rawValue = try decoder.singleValueContainer().decode(UInt64.self)
        guard rawValue <= Limits.blockIDMax else {
            throw DFSError(.invalidArgument, "block id \(rawValue) is above the largest block id, \(Limits.blockIDMax)")
        }
        self.rawValue = rawValue
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
    public static func < (lhs: BlockID, rhs: BlockID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The block's file name on a data node: derived from the id alone, never from a peer's text.
    public var fileName: String {
        let hex = String(rawValue, radix: 16)
        return "blk_" + String(repeating: "0", count: 16 - hex.count) + hex
    }
    public var description: String { String(rawValue) }
}

/// Identifies a data node for its whole life; kept in the node's data folder.
public struct NodeID: RawRepresentable, Codable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }

    /// A node id is 1 to 64 characters of letters, digits and '-': safe in logs and file names.
    public var isWellFormed: Bool {
        !rawValue.isEmpty && rawValue.utf8.count <= 64
            && rawValue.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 }
    }
}

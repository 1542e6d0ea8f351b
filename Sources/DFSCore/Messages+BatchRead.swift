/// One block a ``ReadBlocks`` asks for.
public struct BlockRead: Codable, Hashable, Sendable {
    public var blockID: BlockID
    /// The meta server's permission to read this block, when the cluster has a secret.
    public var token: String?
    public init(blockID: BlockID, token: String? = nil) {
        self.blockID = blockID
        self.token = token
    }
}

/// Reads several whole small blocks at once (1 to ``Limits/blocksPerReadMax``): the node
/// answers with one `readBlocksOK` whose payload holds every block it serves, one after
/// another. A block it cannot serve (not here, corrupt, a bad token, no room left in the
/// reply) fails alone, and the reader reads it elsewhere: one missing block does not fail
/// the batch. For a tree of small files this is one round trip for many files instead of
/// one per file.
public struct ReadBlocks: Message {
    public static let type = MessageType.readBlocks
    public var blocks: [BlockRead]
    public init(blocks: [BlockRead]) { self.blocks = blocks }
}

/// The answer to ``ReadBlocks``: one outcome per requested block, in the request's order.
/// The frame's payload holds the bytes of the served blocks, in that order, nothing between
/// them.
public struct ReadBlocksOK: Message {
    public static let type = MessageType.readBlocksOK

    /// What became of one requested block.
    public enum Outcome: Hashable, Sendable {
        /// Its `length` bytes are next in the payload, with the CRC32C of each 64 KiB piece
        /// as stored beside the block.
        case served(length: Int, checksums: [UInt32])
        /// Not served, and why.
        case failed(DFSError)
    }

    public var blocks: [Outcome]
    public init(blocks: [Outcome]) { self.blocks = blocks }

    /// The bytes the served blocks take in the payload.
    public var servedBytes: Int {
        blocks.reduce(0) { total, outcome in
            if case .served(let length, _) = outcome { return total + length }
            return total
        }
    }

    // Outcomes travel as rows, `[length, checksum, checksum, ...]` for a served block and
    // `[]` for one that failed, whose error is in `failures` with its position: a reply
    // holds hundreds of them, and rows are about half the bytes and decoding time of
    // objects (as `listOK`'s entries).
    private enum CodingKeys: String, CodingKey { case blocks, failures }

    private struct Failure: Codable {
        var index: Int
        var error: DFSError
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        var rows = try container.nestedUnkeyedContainer(forKey: .blocks)
        var served: [(length: Int, checksums: [UInt32])?] = []
        served.reserveCapacity(min(rows.count ?? 0, Limits.blocksPerReadMax))
        while !rows.isAtEnd {
            var row = try rows.nestedUnkeyedContainer()
            if row.isAtEnd {
                served.append(nil)
                continue
            }
            let length = try row.decode(Int.self)
            var checksums: [UInt32] = []
            while !row.isAtEnd {
                checksums.append(try row.decode(UInt32.self))
            }
            served.append((length, checksums))
        }
        var failures: [Int: DFSError] = [:]
        for failure in try container.decodeIfPresent([Failure].self, forKey: .failures) ?? [] {
            guard served.indices.contains(failure.index), served[failure.index] == nil else {
                throw DFSError(.invalidArgument, "a failure names block \(failure.index), which is not a failed block of the reply")
            }
            failures[failure.index] = failure.error
        }
        blocks = try served.enumerated().map { index, block in
            if let block { return .served(length: block.length, checksums: block.checksums) }
            guard let error = failures[index] else {
                throw DFSError(.invalidArgument, "block \(index) of the reply is neither served nor failed")
            }
            return .failed(error)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        var rows = container.nestedUnkeyedContainer(forKey: .blocks)
        var failures: [Failure] = []
        for (index, outcome) in blocks.enumerated() {
            var row = rows.nestedUnkeyedContainer()
            switch outcome {
            case .served(let length, let checksums):
                try row.encode(length)
                for checksum in checksums { try row.encode(checksum) }
            case .failed(let error):
                failures.append(Failure(index: index, error: error))
            }
        }
        if !failures.isEmpty { try container.encode(failures, forKey: .failures) }
    }
}

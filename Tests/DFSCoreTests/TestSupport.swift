import DFSCore
import Foundation

/// Builds wire bytes by hand, so that tests can send what ``FrameEncoder`` never would:
/// a header of an exact length, a wrong length prefix, a negative payload.
enum RawFrame {
    /// The 4-byte big-endian length prefix.
    static func prefix(_ length: UInt32) -> [UInt8] {
        [
            UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
            UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length),
        ]
    }

    /// A whole frame: prefix, the header text as given, then the payload.
    static func bytes(header: String, payload: [UInt8] = []) -> [UInt8] {
        let headerBytes = Array(header.utf8)
        return prefix(UInt32(headerBytes.count)) + headerBytes + payload
    }

    /// An `ok` header of exactly `length` bytes (at least 40), padded with an ignored field.
    static func okHeader(length: Int, payloadBytes: Int? = nil) -> String {
        let payloadField = payloadBytes.map { "\"payload\":\($0)," } ?? ""
        let bare = "{\"type\":\"ok\",\(payloadField)\"body\":{},\"pad\":\"\"}"
        precondition(bare.utf8.count <= length, "header of \(length) bytes is too short to pad")
        let padding = String(repeating: "x", count: length - bare.utf8.count)
        return "{\"type\":\"ok\",\(payloadField)\"body\":{},\"pad\":\"\(padding)\"}"
    }
}

extension FrameDecoder {
    /// Every frame the buffered bytes hold, in order, stopping at the first incomplete one.
    mutating func drainFrames() throws(DFSError) -> [Frame] {
        var frames: [Frame] = []
        while let frame = try nextFrame() { frames.append(frame) }
        return frames
    }
}

extension SplitMix64 {
    /// The seed from `DFS_TEST_SEED` (decimal, or hex after `0x`) when set, so that a failure
    /// printed with its seed can be replayed; otherwise a fixed one, so a plain run is always the same.
    static func seedFromEnvironment(default fallback: UInt64 = 0x5EED_DF5C) throws -> UInt64 {
        guard let text = ProcessInfo.processInfo.environment["DFS_TEST_SEED"] else { return fallback }
        let seed = text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
        guard let seed else {
            throw DFSError(.invalidArgument, "DFS_TEST_SEED '\(text)' is not an unsigned integer")
        }
        return seed
    }
}

/// Any JSON value, numbers exactly: two documents are the same when these are equal.
indirect enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), integer(Int64), unsigned(UInt64), number(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let value = try? single.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? single.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? single.decode(UInt64.self) {
            self = .unsigned(value)
        } else if let value = try? single.decode(Double.self) {
            self = .number(value)
        } else if let value = try? single.decode(String.self) {
            self = .string(value)
        } else if let value = try? single.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try single.decode([String: JSONValue].self))
        }
    }
}

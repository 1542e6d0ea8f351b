import Foundation

/// One message on the wire: a 4-byte big-endian header length, a JSON header of that
/// length, then as many raw payload bytes as the header's `payload` field says.
///
/// The header is `{"type": "...", "payload": N, "body": {...}}`; `payload` is left out when
/// there is none. Block data travels only as payload, never inside JSON.
public struct Frame: Sendable {
    public var type: String
    /// The JSON header, kept so the body can be decoded once the type is known.
    public var header: [UInt8]
    public var payload: [UInt8]

    public init(type: String, header: [UInt8], payload: [UInt8]) {
        self.type = type
        self.header = header
        self.payload = payload
    }

    /// Decodes the body as `M` and checks its values (``Message/validate()``).
    ///
    /// A frame that is not well formed (bad JSON, a wrong shape: a missing field, a string
    /// for a number, a number its field's type cannot hold) is a `protocolError`, after which
    /// a server closes the connection. A well-formed frame with a value that its type or
    /// `validate()` refuses (a path with `..`, a block id above ``Limits/blockIDMax``, a
    /// negative length) throws that refusal's own error (`invalidPath`, `invalidArgument`,
    /// `tooLarge`): the stream is still in step, so the connection can go on.
    public func decode<M: Message>(_: M.Type) throws(DFSError) -> M {
        guard type == M.type.rawValue else {
            throw DFSError(.protocolError, "expected a '\(M.type.rawValue)' message, got '\(type)'")
        }
        let message: M
        do {
            message = try WireJSONDecoder.decode(Body<M>.self, from: header).body
        } catch let refused as DFSError {
            // Thrown by a type's own decoding (DFSPath, BlockID): a value, not the shape.
            throw refused
        } catch {
            throw DFSError(.protocolError, "malformed '\(type)' message: \(Frame.describe(error))")
        }
        try message.validate()
        return message
    }

    /// Decodes a reply: the expected message, or the error the peer sent instead. A reply
    /// with a value out of range is the server's fault, not the request's: it is a
    /// `protocolError`, so the client drops the connection and does not take the error for a
    /// verdict on what it asked.
    public func reply<M: Message>(_: M.Type) throws(DFSError) -> M {
        if type == MessageType.error.rawValue {
            throw try decode(ErrorMessage.self).error
        }
        do {
            return try decode(M.self)
        } catch  where error.code != .protocolError {
            throw DFSError(.protocolError, "invalid reply: \(error.message)")
        }
    }

    private struct Body<M: Decodable>: Decodable { var body: M }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing field '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        case DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "invalid JSON" : "invalid value at '\(path)': \(context.debugDescription)"
        case let error as DFSError: return error.message
        default: return "invalid JSON"
        }
    }
}

/// The shared JSON encoder for what ``WireJSONEncoder`` leaves to Foundation. Creating one
/// per message costs more than the coding itself.
enum JSONCoding {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

import Foundation

/// Builds the bytes that go before a frame's payload: the length prefix and the JSON header.
public enum FrameEncoder {
    private struct Envelope<M: Encodable>: Encodable {
        var type: String
        var payload: Int?
        var body: M
    }

    /// Encodes `message` with a header that announces `payloadBytes` bytes of payload.
    /// The caller sends the payload itself, straight from its buffer.
    public static func encode<M: Message>(_ message: M, payloadBytes: Int = 0) throws(DFSError) -> [UInt8] {
        precondition(payloadBytes >= 0 && payloadBytes <= Limits.payloadBytesMax, "payload over the frame limit")
        let envelope = Envelope(type: M.type.rawValue, payload: payloadBytes > 0 ? payloadBytes : nil, body: message)
        let json: Data
        do {
            json = try JSONCoding.encoder.encode(envelope)
        } catch {
            throw DFSError(.internalError, "cannot encode '\(M.type.rawValue)': \(error)")
        }
        guard json.count <= Limits.headerBytesMax else {
            throw DFSError(.tooLarge, "'\(M.type.rawValue)' header is \(json.count) bytes; the limit is \(Limits.headerBytesMax)")
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(4 + json.count)
        let length = UInt32(json.count)
        bytes.append(UInt8(truncatingIfNeeded: length >> 24))
        bytes.append(UInt8(truncatingIfNeeded: length >> 16))
        bytes.append(UInt8(truncatingIfNeeded: length >> 8))
        bytes.append(UInt8(truncatingIfNeeded: length))
        bytes.append(contentsOf: json)
        return bytes
    }

    /// A whole frame in one buffer: prefix, header and payload.
    public static func frame<M: Message>(_ message: M, payload: [UInt8] = []) throws(DFSError) -> [UInt8] {
        var bytes = try encode(message, payloadBytes: payload.count)
        bytes.append(contentsOf: payload)
        return bytes
    }
}

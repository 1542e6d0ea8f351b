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
        var bytes: [UInt8] = [0, 0, 0, 0]
        bytes.reserveCapacity(256)
        do {
            // The envelope by hand; the body by its own writer when it has one, else by the
            // one-pass encoder, else (when the body needs it) by Foundation's.
            bytes.append(contentsOf: Self.typeKey)
            bytes.append(contentsOf: M.type.rawValue.utf8)
            bytes.append(UInt8(ascii: "\""))
            if payloadBytes > 0 {
                bytes.append(contentsOf: Self.payloadKey)
                bytes.append(contentsOf: String(payloadBytes).utf8)
            }
            bytes.append(contentsOf: Self.bodyKey)
            if let writable = message as? any WireJSONWritable {
                var json = WireJSONWriter(bytes: bytes)
                bytes = []
                writable.write(to: &json)
                bytes = json.bytes
                bytes.append(UInt8(ascii: "}"))
            } else if try WireJSONEncoder.encode(message, into: &bytes) {
                bytes.append(UInt8(ascii: "}"))
            } else {
                let envelope = Envelope(type: M.type.rawValue, payload: payloadBytes > 0 ? payloadBytes : nil, body: message)
                bytes = [0, 0, 0, 0] + Array(try JSONCoding.encoder.encode(envelope))
            }
        } catch {
            throw DFSError(.internalError, "cannot encode '\(M.type.rawValue)': \(error)")
        }
        let length = bytes.count - 4
        guard length <= Limits.headerBytesMax else {
            throw DFSError(.tooLarge, "'\(M.type.rawValue)' header is \(length) bytes; the limit is \(Limits.headerBytesMax)")
        }
        bytes[0] = UInt8(truncatingIfNeeded: length >> 24)
        bytes[1] = UInt8(truncatingIfNeeded: length >> 16)
        bytes[2] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[3] = UInt8(truncatingIfNeeded: length)
        return bytes
    }

    private static let typeKey = Array(#"{"type":""#.utf8)
    private static let payloadKey = Array(#","payload":"#.utf8)
    private static let bodyKey = Array(#","body":"#.utf8)

    /// A whole frame in one buffer: prefix, header and payload.
    public static func frame<M: Message>(_ message: M, payload: [UInt8] = []) throws(DFSError) -> [UInt8] {
        var bytes = try encode(message, payloadBytes: payload.count)
        bytes.append(contentsOf: payload)
        return bytes
    }
}

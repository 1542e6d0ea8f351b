import Foundation

/// Cuts whole frames out of a stream of bytes.
///
/// Bytes are appended as they arrive; ``nextFrame()`` returns nil and keeps everything until a
/// whole frame is there. Every length is checked before a byte of the part it announces is
/// kept, so a peer cannot make the decoder hold more than one frame within the limits.
public struct FrameDecoder: Sendable {
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// The header of the frame whose payload is still arriving.
    private var pending: (type: String, header: [UInt8], payloadBytes: Int)?

    /// Limits of the frames read from now on (a server raises them once a peer has said hello).
    public var headerBytesMax: Int
    public var payloadBytesMax: Int

    public init(headerBytesMax: Int = Limits.headerBytesMax, payloadBytesMax: Int = Limits.payloadBytesMax) {
        self.headerBytesMax = headerBytesMax
        self.payloadBytesMax = payloadBytesMax
    }

    /// Bytes received but not yet returned in a frame.
    public var bufferedBytes: Int { buffer.count - readIndex }

    /// How many more bytes the frame under way needs at least; 0 when none is under way.
    public var bytesWanted: Int {
        if let pending { return max(0, pending.payloadBytes - bufferedBytes) }
        if bufferedBytes < 4 { return 4 - bufferedBytes }
        return max(0, 4 + Int(headerLength()) - bufferedBytes)
    }

    public mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        compactIfUseful()
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfUseful()
        buffer.append(contentsOf: bytes)
    }

    /// Lets the caller read straight into the buffer's free tail: `body` gets room for up to
    /// `capacity` bytes and returns how many it wrote, or a negative number for none.
    public mutating func withWritableTail(capacity: Int, _ body: (UnsafeMutableRawBufferPointer) -> Int) -> Int {
        compactIfUseful()
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: capacity))
        let written = buffer.withUnsafeMutableBytes { all in
            body(UnsafeMutableRawBufferPointer(rebasing: all[start..<(start + capacity)]))
        }
        precondition(written <= capacity)
        buffer.removeLast(capacity - max(0, written))
        return written
    }

    /// Removes one whole frame from the front of the buffer, if one has arrived.
    public mutating func nextFrame() throws(DFSError) -> Frame? {
        if pending == nil {
            guard bufferedBytes >= 4 else { return nil }
            let length = Int(headerLength())
            guard length > 0 else {
                throw DFSError(.protocolError, "frame header length is 0; a frame needs a JSON header")
            }
            guard length <= headerBytesMax else {
                throw DFSError(.tooLarge, "frame header is \(length) bytes; the limit is \(headerBytesMax)")
            }
            guard bufferedBytes >= 4 + length else { return nil }
            let header = Array(buffer[(readIndex + 4)..<(readIndex + 4 + length)])
            readIndex += 4 + length
            let head: Head
            do {
                head = try WireJSONDecoder.decode(Head.self, from: header)
            } catch {
                throw DFSError(.protocolError, "frame header is not a JSON object with a 'type': \(Frame.describe(error))")
            }
            let payloadBytes = head.payload ?? 0
            guard payloadBytes >= 0 else {
                throw DFSError(.protocolError, "frame payload length \(payloadBytes) is negative")
            }
            guard payloadBytes <= payloadBytesMax else {
                throw DFSError(.tooLarge, "frame payload is \(payloadBytes) bytes; the limit is \(payloadBytesMax)")
            }
            guard !head.type.isEmpty, head.type.utf8.count <= 64 else {
                throw DFSError(.protocolError, "frame type is empty or too long")
            }
            pending = (head.type, header, payloadBytes)
        }
        guard let frame = pending, bufferedBytes >= frame.payloadBytes else { return nil }
        let payload = Array(buffer[readIndex..<(readIndex + frame.payloadBytes)])
        readIndex += frame.payloadBytes
        pending = nil
        return Frame(type: frame.type, header: frame.header, payload: payload)
    }

    /// The payload size of the frame whose header has arrived and whose payload has not
    /// yet all arrived; nil when no frame is under way.
    public var pendingPayloadBytes: Int? { pending?.payloadBytes }

    /// Hands the frame under way to a caller that reads its payload itself: copies the
    /// payload bytes already buffered to the front of `payload` (which must hold the whole
    /// payload) and returns the frame's type, header and how many bytes were copied. The
    /// decoder then expects the next frame.
    public mutating func takePendingFrame(into payload: UnsafeMutableRawBufferPointer) -> (type: String, header: [UInt8], copied: Int) {
        guard let frame = pending else { preconditionFailure("no frame is under way") }
        precondition(payload.count >= frame.payloadBytes)
        let copied = min(bufferedBytes, frame.payloadBytes)
        buffer.withUnsafeBytes { raw in
            if copied > 0 {
                payload.baseAddress!.copyMemory(from: raw.baseAddress! + readIndex, byteCount: copied)
            }
        }
        readIndex += copied
        pending = nil
        return (frame.type, frame.header, copied)
    }

    private struct Head: Decodable {
        var type: String
        var payload: Int?
    }

    private func headerLength() -> UInt32 {
        buffer.withUnsafeBytes { raw in
            var value: UInt32 = 0
            for index in 0..<4 { value = value << 8 | UInt32(raw[readIndex + index]) }
            return value
        }
    }

    /// Drops consumed bytes once they are most of the buffer, so appending stays amortised O(1).
    private mutating func compactIfUseful() {
        if readIndex > 0, readIndex >= buffer.count / 2 {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
    }
}

/// How far one outgoing frame, its header and then its payload, has been sent: what the
/// write loop needs to send the rest after a partial send.
///
/// The kernel takes as many bytes as its send buffer has room for, so one frame may leave in
/// several calls, split anywhere: inside the header, at its end, or inside the payload.
struct SendCursor: Equatable {
    let headerBytes: Int
    let payloadBytes: Int
    /// Bytes of the frame the kernel has taken so far, header first.
    private(set) var sentBytes = 0

    init(headerBytes: Int, payloadBytes: Int) {
        precondition(headerBytes >= 0 && payloadBytes >= 0, "a frame part has no negative size")
        self.headerBytes = headerBytes
        self.payloadBytes = payloadBytes
    }

    var totalBytes: Int { headerBytes + payloadBytes }
    var remainingBytes: Int { totalBytes - sentBytes }
    var isComplete: Bool { sentBytes == totalBytes }

    /// The header's bytes not yet sent; empty once the whole header has gone.
    var headerRemaining: Range<Int> { min(sentBytes, headerBytes)..<headerBytes }

    /// The payload's bytes not yet sent: all of it while part of the header remains.
    var payloadRemaining: Range<Int> { max(0, sentBytes - headerBytes)..<payloadBytes }

    /// The kernel took `count` more bytes. It never takes more than it was offered.
    mutating func advance(by count: Int) {
        precondition(count > 0 && count <= remainingBytes, "sent \(count) bytes with \(remainingBytes) left to send")
        sentBytes += count
    }
}

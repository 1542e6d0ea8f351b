import Testing

@testable import DFSMount

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct ReceiveBuffersTests {
    static let bufferBytes = 1024 * 1024 + 4096

    /// A buffer as libfuse allocates one, with a write's bytes 80 bytes in.
    static func receivedBuffer() -> UnsafeMutableRawPointer {
        let buffer = malloc(bufferBytes)!
        for index in 0..<bufferBytes { buffer.storeBytes(of: UInt8(truncatingIfNeeded: index), toByteOffset: index, as: UInt8.self) }
        return buffer
    }

    @Test func aLargeWriteTakesItsReadersBufferAndGivesItBackForReuse() {
        let buffers = ReceiveBuffers()
        let buffer = Self.receivedBuffer()
        buffers.startProcessing(reader: 0, buffer, bytes: Self.bufferBytes)
        var data = buffers.take(buffer + 80, count: 1024 * 1024)
        #expect(data != nil)
        #expect(data?.count == 1024 * 1024)
        #expect(data?.withBytes { $0[0] } == 80)
        // The reader forgets it: it now belongs to the write.
        #expect(buffers.endProcessing(reader: 0))
        #expect(buffers.idleBuffer() == nil)
        data = nil
        // Staged: the next reader whose buffer was taken receives into it.
        #expect(buffers.idleBuffer() == buffer)
        free(buffer)
    }

    @Test func aSmallWriteIsCopiedAndTheReaderKeepsItsBuffer() {
        let buffers = ReceiveBuffers()
        let buffer = Self.receivedBuffer()
        defer { free(buffer) }
        buffers.startProcessing(reader: 0, buffer, bytes: Self.bufferBytes)
        #expect(buffers.take(buffer + 80, count: ReceiveBuffers.takenBytesMin - 1) == nil)
        #expect(!buffers.endProcessing(reader: 0))
    }

    /// Bytes that lie in no reader's buffer (or past its end) are never taken.
    @Test func bytesOutsideEveryReadersBufferAreNotTaken() {
        let buffers = ReceiveBuffers()
        let buffer = Self.receivedBuffer()
        defer { free(buffer) }
        #expect(buffers.take(buffer + 80, count: 1024 * 1024) == nil)
        buffers.startProcessing(reader: 0, buffer, bytes: 1024 * 1024)
        #expect(buffers.take(buffer + 80, count: 1024 * 1024) == nil)
        #expect(!buffers.endProcessing(reader: 0))
    }

    @Test func idleBuffersAreBounded() {
        let buffers = ReceiveBuffers()
        var taken: [WriteData] = []
        for reader in 0..<(ReceiveBuffers.idleMax + 2) {
            let buffer = malloc(Self.bufferBytes)!
            buffers.startProcessing(reader: reader, buffer, bytes: Self.bufferBytes)
            if let data = buffers.take(buffer, count: Self.bufferBytes) { taken.append(data) }
            #expect(buffers.endProcessing(reader: reader))
        }
        #expect(taken.count == ReceiveBuffers.idleMax + 2)
        taken.removeAll()
        var idle: [UnsafeMutableRawPointer] = []
        while let buffer = buffers.idleBuffer() { idle.append(buffer) }
        #expect(idle.count == ReceiveBuffers.idleMax)
        idle.forEach { free($0) }
    }
}

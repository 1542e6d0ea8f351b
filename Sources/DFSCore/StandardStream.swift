#if canImport(Glibc)
    import Glibc
#endif

/// Whole writes to standard output or error with `write(2)`, so that a closed pipe is an error
/// the caller handles (Foundation's `FileHandle.write` traps on one).
public enum StandardStream {
    /// The reader of the stream has gone away (EPIPE).
    public struct Closed: Error {}

    public static func write(_ bytes: [UInt8], to descriptor: Int32) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { throw Closed() }
                throw DFSError(.ioError, "cannot write to file descriptor \(descriptor): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }
}

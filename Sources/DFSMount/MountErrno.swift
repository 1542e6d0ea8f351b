import DFSCore
import DFSSystem

#if canImport(Glibc)
    import Glibc
#endif

/// A failure that has its own errno, for conditions the protocol has no code for (a folder
/// that is not empty, a handle the kernel does not hold): thrown inside the mount and turned
/// into the reply's errno, never sent over the wire.
struct MountError: Error, CustomStringConvertible {
    var errno: Int32
    var message: String

    init(_ errno: Int32, _ message: String) {
        self.errno = errno
        self.message = message
    }

    var description: String { message }
}

/// The errno a program sees for a failure of a mount operation.
enum MountErrno {
    /// Maps the cluster's error codes to the errno a local file system gives for the same
    /// condition. What has no local meaning (a cluster out of reach, a checksum no replica
    /// matches) is EIO, as for a disk that fails.
    static func of(_ error: any Error) -> Int32 {
        if let error = error as? MountError { return error.errno }
        if let error = error as? SystemError { return error.errno.rawValue }
        if error is CancellationError { return EINTR }
        let dfs = DFSError.wrap(error)
        switch dfs.code {
        case .notFound: return ENOENT
        case .alreadyExists: return EEXIST
        case .notADirectory: return ENOTDIR
        case .isADirectory: return EISDIR
        case .invalidPath: return dfs.message.contains("bytes") ? ENAMETOOLONG : EINVAL
        case .invalidArgument: return EINVAL
        case .tooLarge: return EFBIG
        case .unauthorized: return EACCES
        // A block that no node can take: the cluster is full (or has no live node with room).
        case .unavailable where dfs.message.contains("cannot place block"): return ENOSPC
        case .unavailable, .checksumMismatch, .protocolError, .timeout, .connectionFailed, .ioError, .internalError, .notActive:
            return EIO
        }
    }
}

import DFSCore
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// A system call that failed: which call, on which file or peer, and the errno.
public struct SystemError: Error, CustomStringConvertible, Sendable {
    /// The call, as its manual page names it: "pread", "open", "sendmsg".
    public let call: String
    /// The file's path or the peer's name; nil when the call concerns neither.
    public let subject: String?
    public let errno: Errno

    public init(_ call: String, _ subject: String?, errno: Errno) {
        self.call = call
        self.subject = subject
        self.errno = errno
    }

    /// The calling thread's errno, now.
    public static func current(_ call: String, _ subject: String?) -> SystemError {
        SystemError(call, subject, errno: Errno(rawValue: Glibc.errno))
    }

    /// The errno's text, lower-cased as it reads in the middle of a sentence.
    public var reason: String { Self.reason(of: errno.rawValue) }

    /// An errno's text, lower-cased as it reads in the middle of a sentence.
    public static func reason(of code: Int32) -> String { String(cString: strerror(code)).lowercased() }

    public var description: String {
        guard let subject else { return "\(call) failed: \(reason)" }
        return "\(call) \(subject) failed: \(reason)"
    }

    /// The same failure as a ``DFSError`` with `code`, for the wire and the command line.
    public func dfsError(_ code: DFSError.Code = .ioError) -> DFSError {
        DFSError(code, description)
    }
}

/// The one place EINTR is retried: `body` runs again while it returns -1 (a failure, for
/// the calls this wraps) with errno EINTR.
@inline(__always)
public func retryingInterrupts<T: BinaryInteger>(_ body: () -> T) -> T {
    while true {
        let result = body()
        if result == -1 && Glibc.errno == EINTR { continue }
        return result
    }
}

/// A file that ended before a read that needed a number of bytes had them: truncated, or
/// changed while being read.
public struct EndOfFileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    /// Where the read started.
    public let offset: Int
    public let wanted: Int
    /// The bytes there were before the end.
    public let found: Int

    public init(path: String, offset: Int, wanted: Int, found: Int) {
        self.path = path
        self.offset = offset
        self.wanted = wanted
        self.found = found
    }

    public var description: String {
        "\(path) ends at \(offset + found) bytes, before the \(wanted) bytes wanted from \(offset)"
    }

    /// The same failure as a ``DFSError`` with `code`.
    public func dfsError(_ code: DFSError.Code = .ioError) -> DFSError {
        DFSError(code, description)
    }
}

extension SystemError: DFSErrorConvertible {}
extension EndOfFileError: DFSErrorConvertible {}

/// An error a client can see. Codes are part of the protocol: never rename or reuse one.
public struct DFSError: Error, Codable, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Codable, Sendable {
        case notFound
        case alreadyExists
        case invalidPath
        case invalidArgument
        case notADirectory
        case isADirectory
        case tooLarge
        case unavailable
        case checksumMismatch
        case unauthorized
        case protocolError
        case timeout
        case connectionFailed
        case ioError
        case internalError
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// Wraps any error into a DFSError, keeping one that already is.
    public static func wrap(_ error: any Error) -> DFSError {
        if let error = error as? DFSError { return error }
        if error is CancellationError { return DFSError(.timeout, "operation cancelled") }
        return DFSError(.internalError, String(describing: error))
    }
}

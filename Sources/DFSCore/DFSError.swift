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
        /// A meta server that is a standby: another one is active (``DFSError/active`` names
        /// it when known). Clients and data nodes go to the active one.
        case notActive
    }

    public var code: Code
    public var message: String
    /// True when the condition should pass by itself and the same request may succeed if
    /// sent again a little later: a server over its connection limit, a meta server that has
    /// not heard from its data nodes since it started. Absent means false. Clients retry
    /// such errors as they retry a refused connection (see `DFSClient`'s `retryFor`).
    public var transient: Bool?
    /// With `notActive`: the meta server that is active, when the standby knows it.
    public var active: Endpoint?

    public init(_ code: Code, _ message: String, transient: Bool? = nil, active: Endpoint? = nil) {
        self.code = code
        self.message = message
        self.transient = transient
        self.active = active
    }

    public var description: String { message }

    /// Wraps any error into a DFSError, keeping one that already is.
    public static func wrap(_ error: any Error) -> DFSError {
        if let error = error as? DFSError { return error }
        if let error = error as? any DFSErrorConvertible { return error.dfsError(.ioError) }
        if error is CancellationError { return DFSError(.timeout, "operation cancelled") }
        return DFSError(.internalError, String(describing: error))
    }
}

/// An error from below the protocol (a failed system call) that has a ``DFSError`` form, so
/// that ``DFSError/wrap(_:)`` gives it its code instead of calling it an internal error.
public protocol DFSErrorConvertible: Error {
    func dfsError(_ code: DFSError.Code) -> DFSError
}

extension DFSError {
    /// A standby's answer: transient, so that clients try again (at the active server).
    public static func notActive(active: Endpoint?) -> DFSError {
        DFSError(
            .notActive, active.map { "this meta server is a standby; the active one is \($0)" } ?? "this meta server is a standby; no active one is known yet",
            transient: true, active: active)
    }
}

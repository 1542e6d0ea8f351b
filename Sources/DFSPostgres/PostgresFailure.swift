import DFSCore
import Foundation

/// A statement's failure as PostgreSQL reported it: its SQLSTATE and message, and the
/// ``DFSError`` the caller sees.
///
/// The connection keeps the last one (``PostgresConnection/lastFailure``) so that a
/// transaction can tell a serialization failure from other errors after its body threw the
/// ``DFSError``.
public struct PostgresFailure: Sendable, Hashable {
    /// The five-character SQLSTATE; nil when the failure happened in the client (a lost
    /// connection) rather than in the server.
    public var sqlState: String?
    /// PostgreSQL's primary message.
    public var message: String
    /// What the caller sees: the message, the detail and hint when there are any, and the
    /// SQLSTATE, on one line.
    public var error: DFSError

    init(sqlState: String?, message: String, detail: String? = nil, hint: String? = nil) {
        self.sqlState = sqlState
        self.message = message
        var text = "PostgreSQL: \(message)"
        if let detail, !detail.isEmpty { text += " (\(detail))" }
        if let hint, !hint.isEmpty { text += "; hint: \(hint)" }
        if let sqlState { text += " [SQLSTATE \(sqlState)]" }
        let code = PostgresFailure.code(for: sqlState)
        error = DFSError(code.code, PostgresFailure.oneLine(text), transient: code.transient ? true : nil)
    }

    /// SQLSTATEs after which the whole transaction may simply run again:
    /// serialization_failure and deadlock_detected.
    public static let retryableStates: Set<String> = ["40001", "40P01"]

    public var isRetryable: Bool { sqlState.map(PostgresFailure.retryableStates.contains) ?? false }

    /// The error code for a SQLSTATE (PostgreSQL's Appendix A), and whether the same
    /// statement may succeed a little later.
    static func code(for sqlState: String?) -> (code: DFSError.Code, transient: Bool) {
        guard let sqlState else { return (.connectionFailed, true) }
        if retryableStates.contains(sqlState) { return (.unavailable, true) }
        switch sqlState {
        case "23505": return (.alreadyExists, false)
        case "3D000": return (.notFound, false)
        case "57014": return (.timeout, false)
        case "57P01", "57P02", "57P03": return (.unavailable, true)
        case "28000", "28P01", "42501": return (.unauthorized, false)
        default: break
        }
        switch sqlState.prefix(2) {
        case "08": return (.connectionFailed, true)
        case "22", "23": return (.invalidArgument, false)
        case "53": return (.unavailable, true)
        case "54": return (.tooLarge, false)
        case "42": return (.internalError, false)
        default: return (.ioError, false)
        }
    }

    /// libpq's messages span lines (a tab-indented hint under the error); a log line or a
    /// command's error must be one line.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline)
            .map { String($0).trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .joined(separator: "; ")
    }
}

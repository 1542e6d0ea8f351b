import CLibPQ
import DFSCore

/// Checks of a connection URI before libpq gets it, and its form for messages.
///
/// libpq would read a string without a scheme as a bare database name, so `--db meta.db`
/// meant for SQLite would quietly try a database called "meta.db": only
/// `postgres://` and `postgresql://` URIs are taken.
public enum PostgresURI {
    public static let schemes = ["postgres://", "postgresql://"]

    /// True when `text` names a PostgreSQL database rather than a file.
    public static func isPostgres(_ text: String) -> Bool {
        schemes.contains { text.hasPrefix($0) }
    }

    /// Throws ``DFSError/Code/invalidArgument`` with libpq's reason when `uri` is not a
    /// connection URI libpq can parse (PQconninfoParse).
    public static func validate(_ uri: String) throws(DFSError) {
        guard isPostgres(uri) else {
            throw DFSError(.invalidArgument, "not a PostgreSQL URI (postgres://USER@HOST:PORT/DBNAME): \(redacted(uri))")
        }
        guard !uri.utf8.contains(0) else { throw DFSError(.invalidArgument, "PostgreSQL URI contains a NUL byte") }
        var message: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(uri, &message) else {
            let reason = message.map { String(cString: $0) } ?? "out of memory"
            if let message { PQfreemem(message) }
            throw DFSError(.invalidArgument, "invalid PostgreSQL URI \(redacted(uri)): \(PostgresFailure.oneLine(reason))")
        }
        PQconninfoFree(options)
    }

    /// `uri` with its password, if it holds one, replaced by `***`: messages and logs name
    /// the database without giving its secret away.
    public static func redacted(_ uri: String) -> String {
        redactingQueryPassword(redactingUserPassword(uri))
    }

    private static func redactingUserPassword(_ uri: String) -> String {
        guard let schemeEnd = uri.range(of: "://") else { return uri }
        let rest = uri[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return uri }
        return String(uri[..<authority.index(after: colon)]) + "***" + String(uri[at...])
    }

    /// A password may also come as a query parameter (`?password=...`).
    private static func redactingQueryPassword(_ uri: String) -> String {
        guard let query = uri.firstIndex(of: "?") else { return uri }
        let parameters = uri[uri.index(after: query)...].split(separator: "&", omittingEmptySubsequences: false).map { parameter in
            parameter.hasPrefix("password=") ? "password=***" : String(parameter)
        }
        return String(uri[...query]) + parameters.joined(separator: "&")
    }
}

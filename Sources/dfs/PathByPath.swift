import ArgumentParser
import DFSCore

/// Commands that take many cluster paths (`stat`, `cat`) work through them as coreutils do:
/// in order, through one client; a path that fails is named on standard error with why, and
/// the command goes on with the next; at the end it exits 1 if any failed.
///
/// A failure that every later path would meet too ends the command at once instead: the meta
/// server cannot be reached (each path would wait out its own `--retry-for` first) or refuses
/// the secret.
struct PathByPath {
    /// The errors that stop a command of many paths rather than be reported per path.
    static let stoppingCodes: Set<DFSError.Code> = [.connectionFailed, .unauthorized]

    let command: String
    private(set) var failures = 0

    init(_ command: String) { self.command = command }

    /// Runs `body` for `path`; a per-path failure is printed and counted.
    mutating func run(_ path: DFSPath, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as DFSError where !Self.stoppingCodes.contains(error.code) {
            failures += 1
            printError("dfs \(command): \(Self.message(error, path: path))")
        }
    }

    /// Exits 1 when any path failed (each was named already).
    func finish() throws {
        if failures > 0 { throw ExitCode(1) }
    }

    /// The error's message, with the path in front unless the message names it already
    /// (`no such file or folder: /a` stays as it is, as a single path's error always was).
    static func message(_ error: DFSError, path: DFSPath) -> String {
        error.message.contains(path.description) ? error.message : "\(path): \(error.message)"
    }
}

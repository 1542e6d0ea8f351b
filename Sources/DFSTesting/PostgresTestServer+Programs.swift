import DFSCore
import DFSSystem
import Foundation

/// Finding PostgreSQL's programs and running them as the right user.
extension PostgresTestServer {
    /// The newest `/usr/lib/postgresql/VERSION/bin` that holds `initdb` and `pg_ctl`.
    public static var binFolder: String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.compactMap { Int($0) }.sorted(by: >).map { "\(root)/\($0)/bin" }.first { folder in
            FileManager.default.isExecutableFile(atPath: folder + "/initdb") && FileManager.default.isExecutableFile(atPath: folder + "/pg_ctl")
        }
    }

    public static var isRoot: Bool { getuid() == 0 }

    /// Whether tests that need a server should run: when the programs are installed, and
    /// always as root, where their absence is a failure that says to run `make deps`.
    public static var shouldRun: Bool { binFolder != nil || isRoot }

    static var missingBinariesError: DFSError {
        DFSError(.unavailable, "PostgreSQL's initdb and pg_ctl are not installed under /usr/lib/postgresql/*/bin: run `make deps`")
    }

    /// `runuser`, which starts a program as another user without asking for a password.
    static var runuserPath: String? {
        ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A new folder for a server, owned by whoever runs the server programs.
    static func makeFolder() throws -> String {
        var parent = FileManager.default.temporaryDirectory.path
        // The postgres user must be able to reach the folder: the usual temp folder /tmp is
        // open to all, a private TMPDIR may not be.
        if isRoot, let mode = (try? FileManager.default.attributesOfItem(atPath: parent))?[.posixPermissions] as? Int, mode & 0o001 == 0 {
            parent = "/tmp"
        }
        let folder = parent + "/dfs-pg-" + UUID().uuidString.prefix(8).lowercased()
        _ = try FileSystem.makeFolders(folder)
        try Data(String(getpid()).utf8).write(to: URL(fileURLWithPath: folder + "/owner"))
        if isRoot {
            try FileManager.default.setAttributes(
                [.ownerAccountName: userName, .groupOwnerAccountName: userName, .posixPermissions: 0o700], ofItemAtPath: folder)
        }
        return folder
    }

    /// Runs a server program (initdb, pg_ctl) to its end: as the `postgres` user when this
    /// process is root, which those programs refuse to be.
    static func runServerProgram(_ program: String, _ arguments: [String]) async throws {
        if isRoot {
            guard let runuser = runuserPath else { throw DFSError(.unavailable, "runuser is not installed: cannot start PostgreSQL as root") }
            try await runClientProgram(runuser, ["-u", userName, "--", program] + arguments)
        } else {
            try await runClientProgram(program, arguments)
        }
    }

    /// Runs a program to its end, as this process's user; throws with its output when it fails.
    static func runClientProgram(_ program: String, _ arguments: [String]) async throws {
        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C"
        let result = try await Subprocess.run(program, arguments, environment: environment, timeout: .seconds(60))
        guard result.status == 0 else {
            let output = (result.standardError + " " + result.standardOutput).split(whereSeparator: \.isNewline).joined(separator: " | ")
            throw DFSError(.internalError, "\((program as NSString).lastPathComponent) \(arguments.first ?? "") failed with status \(result.status): \(output)")
        }
    }

    /// Stops the servers of earlier test runs that were killed before they could, and
    /// removes their folders: a folder whose `owner` process is gone is abandoned.
    public static func sweepAbandoned() {
        let parents = Set([FileManager.default.temporaryDirectory.path, "/tmp"])
        for parent in parents {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
            for name in names where name.hasPrefix("dfs-pg-") {
                let folder = parent + "/" + name
                guard let owner = (try? FileSystem.contents(of: folder + "/owner")).flatMap({ Int32(String(decoding: Data($0), as: UTF8.self)) }),
                    !ProcessTable.isAlive(owner)
                else { continue }
                let server = PostgresTestServer(folder: folder, port: 0, binFolder: "")
                if let pid = server.runningProcesses.first, ProcessTable.commandLine(of: pid).contains(folder) {
                    for process in server.runningProcesses { Foundation.kill(process, SIGKILL) }
                }
                try? FileSystem.removeTree(folder)
            }
        }
    }
}

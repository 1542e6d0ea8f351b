import DFSCore
import DFSSystem
import Foundation

/// Finding PostgreSQL's programs and running them as the right user.
extension BenchPostgres {
    struct Programs {
        /// The newest `/usr/lib/postgresql/VERSION/bin` that holds `initdb` and `pg_ctl`.
        let binFolder: String
        /// `runuser`, when this process is root: the server programs then run as
        /// ``BenchPostgres/userName``, since they refuse to run as root.
        let runuser: String?

        /// The programs, or an error that says what is missing and what to do.
        static func find() throws(DFSError) -> Programs {
            let root = "/usr/lib/postgresql"
            let versions = (try? FileSystem.contentsOfFolder(root)) ?? []
            let binFolder = versions.compactMap { Int($0) }.sorted(by: >).map { "\(root)/\($0)/bin" }.first { folder in
                ["initdb", "pg_ctl", "createdb"].allSatisfy { FileManager.default.isExecutableFile(atPath: folder + "/" + $0) }
            }
            guard let binFolder else {
                throw DFSError(
                    .unavailable,
                    "PostgreSQL's server programs are not installed (no \(root)/*/bin/initdb): `make deps` installs them, or name a database with --postgres URI"
                )
            }
            guard getuid() == 0 else { return Programs(binFolder: binFolder, runuser: nil) }
            guard let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first(where: { FileManager.default.isExecutableFile(atPath: $0) })
            else {
                throw DFSError(.unavailable, "running as root, PostgreSQL's server must run as the \(userName) user, and runuser is not installed")
            }
            guard getpwnam(userName) != nil else {
                throw DFSError(.unavailable, "running as root, PostgreSQL's server must run as the \(userName) user, and there is no such user")
            }
            return Programs(binFolder: binFolder, runuser: runuser)
        }

        /// Runs a client program (`createdb`) as this process's user.
        func run(_ program: String, _ arguments: [String]) throws {
            try Self.run([path(program)] + arguments, name: program)
        }

        /// Runs a server program (`initdb`, `pg_ctl`), or any program given by its full path,
        /// as the user the server runs as: ``BenchPostgres/userName`` when this process is root.
        func runAsServerUser(_ program: String, _ arguments: [String]) throws {
            try Self.run((runuser.map { [$0, "-u", userName, "--"] } ?? []) + [path(program)] + arguments, name: program)
        }

        private func path(_ program: String) -> String { program.hasPrefix("/") ? program : binFolder + "/" + program }

        /// Runs a program to its end; throws with what it printed when it fails.
        private static func run(_ arguments: [String], name: String) throws {
            var environment = ProcessInfo.processInfo.environment
            // The messages checked (a failed bind) are PostgreSQL's English ones.
            environment["LC_ALL"] = "C"
            let run = try ChildProcess.run(arguments, environment: environment, capturingErrors: true)
            guard run.status == 0 else {
                let output = (run.errors + "\n" + run.output).split(whereSeparator: \.isNewline).joined(separator: " | ")
                throw DFSError(.unavailable, "\((name as NSString).lastPathComponent) failed with status \(run.status): \(output)")
            }
        }

        /// A new folder for a server under `parent`, owned by the user that runs it, holding
        /// `owner` (this process's id, for ``BenchPostgres/sweepAbandoned(in:programs:)``).
        /// A root run falls back to /tmp when the `postgres` user cannot reach `parent` (a
        /// `--dir` in root's home folder, say).
        func makeFolder(in parent: String) throws -> String {
            for candidate in parent == "/tmp" ? [parent] : [parent, "/tmp"] {
                let folder = candidate + "/" + BenchPostgres.folderPrefix + UUID().uuidString.prefix(8).lowercased()
                try FileSystem.makeFolders(folder)
                try FileSystem.write(Array(String(getpid()).utf8), to: folder + "/owner")
                guard runuser != nil else { return folder }
                try FileManager.default.setAttributes(
                    [.ownerAccountName: userName, .groupOwnerAccountName: userName, .posixPermissions: 0o700], ofItemAtPath: folder)
                let test = ["/usr/bin/test", "/bin/test"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/test"
                if (try? runAsServerUser(test, ["-w", folder])) != nil { return folder }
                try? FileSystem.removeTree(folder)
            }
            throw DFSError(.unavailable, "the \(userName) user can reach neither \(parent) nor /tmp, for PostgreSQL's folder")
        }
    }
}

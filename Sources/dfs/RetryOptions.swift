import ArgumentParser
import DFSClient
import DFSCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `--retry-for`, which every command that talks to a cluster takes.
struct RetryOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "How long to keep trying when the cluster does not answer (0: fail at once).",
            discussion: """
                A refused or broken connection, a timeout, a busy server, or a meta server that \
                has just restarted and not yet heard from its data nodes is retried, each request \
                and file on its own, with waits growing to 2 s; errors another try would not \
                change (not found, exists, unauthorized, invalid path) fail at once. A notice \
                says so on standard error, when it is a terminal, while the command waits.
                """,
            valueName: "duration"))
    var retryFor: RetryDuration = RetryDuration(RetryPolicy.standardRetryFor)

    /// Prints the notice once per outage, on a terminal.
    func noticePrinter() -> RetryNoticePrinter {
        RetryNoticePrinter(enabled: isatty(STDERR_FILENO) == 1)
    }
}

/// A duration such as `60s` or `2m`, or `0`.
struct RetryDuration: ExpressibleByArgument {
    var duration: Duration
    init?(argument: String) {
        if argument.trimmingCharacters(in: .whitespaces) == "0" {
            duration = .zero
            return
        }
        guard let duration = try? DurationText.parse(argument) else { return nil }
        self.duration = duration
    }
    init(_ duration: Duration) { self.duration = duration }
    var defaultValueDescription: String { RetryPolicy.describe(duration) }
}

/// Tells a person at a terminal that the command is waiting for the cluster: one line on
/// standard error per outage (requests waiting at the same time share one), over the
/// progress line if one is drawn.
final class RetryNoticePrinter: Sendable {
    private let enabled: Bool
    private let lastOutage = Mutex<ContinuousClock.Instant?>(nil)

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ notice: RetryNotice) {
        guard enabled else { return }
        let isNew = lastOutage.withLock { last in
            defer { last = notice.outageStarted }
            return last != notice.outageStarted
        }
        guard isNew else { return }
        let line = "dfs: waiting for the cluster (\(notice.error.message)); retrying for up to \(RetryPolicy.describe(notice.remaining))"
        try? StandardStream.write(Array("\r\u{1B}[K\(line)\n".utf8), to: 2)
    }
}

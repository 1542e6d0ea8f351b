import DFSCore
import Foundation
import Prometheus

#if canImport(Glibc)
    import Glibc
#endif

/// The process's own figures, under the names every Prometheus client library uses
/// (`process_resident_memory_bytes`, `process_cpu_seconds_total`, `process_open_fds`, ...),
/// read from `/proc/self` at each exposition.
final class ProcessMetrics: Sendable {
    private let resident: Gauge
    private let virtualMemory: Gauge
    private let cpu: Counter
    private let openFiles: Gauge
    private let maxFiles: Gauge
    private let started: Gauge
    /// CPU seconds already added to `cpu`, which can only grow by increments.
    private let cpuCounted = Mutex(0.0)

    init(_ registry: PrometheusCollectorRegistry) {
        resident = registry.gauge("process_resident_memory_bytes", help: "Resident memory size in bytes.")
        virtualMemory = registry.gauge("process_virtual_memory_bytes", help: "Virtual memory size in bytes.")
        cpu = registry.counter("process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.")
        openFiles = registry.gauge("process_open_fds", help: "Number of open file descriptors.")
        maxFiles = registry.gauge("process_max_fds", help: "Maximum number of open file descriptors.")
        started = registry.gauge(
            "process_start_time_seconds", help: "Start time of the process since the Unix epoch in seconds.")
        started.set(Self.startTime() ?? Date().timeIntervalSince1970)
    }

    func update() {
        let page = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let statm = Self.read("/proc/self/statm")?.split(separator: " "), statm.count >= 2,
            let size = Double(statm[0]), let pages = Double(statm[1])
        {
            virtualMemory.set(size * page)
            resident.set(pages * page)
        }
        var usage = rusage()
        if getrusage(RUSAGE_SELF.rawValue, &usage) == 0 {
            let seconds =
                Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
                + Double(usage.ru_stime.tv_usec) / 1e6
            let added = cpuCounted.withLock { counted -> Double in
                let delta = max(0, seconds - counted)
                counted += delta
                return delta
            }
            if added > 0 { cpu.increment(by: added) }
        }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            // The listing's own descriptor is among the entries.
            openFiles.set(Double(max(0, entries.count - 1)))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { maxFiles.set(Double(limit.rlim_cur)) }
    }

    private static func read(_ path: String) -> String? {
        try? String(contentsOfFile: path, encoding: .utf8)
    }

    /// From `/proc/self/stat`'s start time (in clock ticks after boot) and the boot time.
    private static func startTime() -> Double? {
        guard let stat = read("/proc/self/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name, which may hold spaces: the 20th of them is starttime.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }
        guard let boot = read("/proc/stat")?.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
            let bootSeconds = Double(boot.dropFirst(6).trimmingCharacters(in: .whitespaces))
        else { return nil }
        return bootSeconds + ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

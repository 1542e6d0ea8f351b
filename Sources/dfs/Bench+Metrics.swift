import DFSClient
import DFSCore
import DFSNet
import Foundation

/// What watching a cluster costs: the same work with and without a scraper that fetches
/// every server's `/metrics` once a second (fifteen times Prometheus's usual rate), taking
/// turns. The servers count requests, bytes and flushes either way; the scrapes (and the
/// meta server's gauges, computed at each) are what differs. The goal, 0.9, is the noise of
/// these rows: rounds of the same kind differ by up to 12% on the 2-core machine.
extension Bench {
    func metricsRows(statPaths: [DFSPath]) async throws -> [BenchResult] {
        progress("uploads and stat, taking turns with and without /metrics scraped every second")
        let meta = cluster.endpoint.description
        var plainWrites: [Double] = []
        var scrapedWrites: [Double] = []
        var plainStats: [Double] = []
        var scrapedStats: [Double] = []
        let client = DFSClient(meta: cluster.endpoint)
        defer { Task { await client.close() } }
        _ = try await client.stat(.root)
        var scrapes = 0
        for round in 0..<rounds {
            for scraped in round % 2 == 0 ? [false, true] : [true, false] {
                let scraper = scraped ? Scraper(endpoints: cluster.httpEndpoints) : nil
                let write = try await afterWarmUp(
                    [executable, "cp", "-q", "--replication", "1", path("source"), "\(meta):/bench/metrics-\(round)-\(scraped)"], "dfs cp (R=1)")
                let started = ContinuousClock.now
                for path in statPaths { _ = try await client.stat(path) }
                let stat = Double(statPaths.count) / (ContinuousClock.now - started).inSeconds
                if let scraper { scrapes += try await scraper.stop() }
                if scraped {
                    scrapedWrites.append(Self.mib(fileBytes, write))
                    scrapedStats.append(stat)
                } else {
                    plainWrites.append(Self.mib(fileBytes, write))
                    plainStats.append(stat)
                }
            }
        }
        guard scrapes > 0 else { throw DFSError(.internalError, "the scraper fetched no /metrics") }
        let ofRounds = rounds > 1 ? ", median of \(rounds)" : ""
        func row(_ name: String, _ runs: [Double], _ baselineRuns: [Double], unit: String) -> BenchResult {
            let value = Self.median(runs)
            let baseline = Self.median(baselineRuns)
            return BenchResult(
                name: "with /metrics scraped every second: " + name + ofRounds, value: value, unit: unit, baselineName: "the same, not scraped",
                baseline: baseline, ratio: value / baseline, goal: "≥ 0.9 × not scraped", met: value >= 0.9 * baseline, runs: runs,
                baselineRuns: baselineRuns)
        }
        return [
            row("write \(ByteSize.format(fileBytes)), R=1", scrapedWrites, plainWrites, unit: "MiB/s"),
            row("stat of \(statPaths.count) files, one caller", scrapedStats, plainStats, unit: "files/s"),
        ]
    }

    /// Fetches `/metrics` from every endpoint once a second until stopped.
    final class Scraper: Sendable {
        private let task: Task<Int, any Error>

        init(endpoints: [Endpoint]) {
            task = Task {
                var scrapes = 0
                while !Task.isCancelled {
                    for endpoint in endpoints {
                        _ = try await Self.scrape(endpoint)
                        scrapes += 1
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
                return scrapes
            }
        }

        /// Stops scraping; returns how many scrapes were made (a failed one throws).
        func stop() async throws -> Int {
            task.cancel()
            return try await task.value
        }

        /// One `GET /metrics`; returns its size, or throws when the answer is not a 200.
        static func scrape(_ endpoint: Endpoint) async throws -> Int {
            let connection = try await Connection.connect(to: endpoint, timeout: .seconds(5))
            defer { Task { await connection.close() } }
            let deadline = ContinuousClock.now + .seconds(10)
            try await connection.sendBytes(Array("GET /metrics HTTP/1.1\r\nHost: \(endpoint)\r\nConnection: close\r\n\r\n".utf8), before: deadline)
            var response: [UInt8] = []
            while let piece = try await connection.readSome(maxBytes: 64 * 1024, before: deadline) {
                response += piece
                guard response.count <= 16 << 20 else { throw DFSError(.tooLarge, "/metrics of \(endpoint) is over 16 MiB") }
            }
            guard response.starts(with: Array("HTTP/1.1 200 ".utf8)) else {
                throw DFSError(.internalError, "/metrics of \(endpoint) answered \(String(decoding: response.prefix(40), as: UTF8.self))")
            }
            return response.count
        }
    }
}

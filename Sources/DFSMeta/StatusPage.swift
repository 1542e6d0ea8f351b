import DFSCore
import Foundation

/// The meta server's status page (`GET /` on its HTTP port): the cluster at a glance.
///
/// One HTML document, generated here with its CSS and SVG inline: nothing is fetched from
/// elsewhere and no script runs; the page reloads itself every few seconds. Every name that
/// comes from the cluster (node ids, addresses, paths) is escaped.
public struct StatusPage: Sendable {
    /// What the page shows.
    public struct Content: Sendable {
        public var server: String
        public var version = BuildInfo.version
        /// Seconds since the server started.
        public var uptime: Double
        public var status: StatusOK
        /// Files with unhealthy blocks, worst first, as many as the page lists.
        public var problemFiles: [FileProblems]
        /// Requests and bytes per second over the last minutes, oldest first.
        public var rates: [ThroughputHistory.Rate]
        /// When the page was made, for its footer (seconds since 1970).
        public var generatedAt: Double
    }

    /// Seconds between the page's reloads.
    public static let refreshSeconds = 5
    /// Files with problems the page lists.
    public static let problemFilesListed = 10

    public static func render(_ content: Content) -> String {
        let status = content.status
        let totals = status.totals
        let tally = status.nodeTally
        let (alive, dead, leaving, capacity, used) = (tally.alive, tally.dead, tally.leaving, tally.capacity, tally.used)
        let unhealthy = totals.underReplicated + totals.missing + totals.corrupt
        let healthy = max(0, totals.blocks - unhealthy)
        let verdict: (text: String, tone: String) =
            totals.missing + totals.corrupt > 0
            ? ("data at risk", "bad") : totals.underReplicated > 0 || dead > 0 ? ("degraded", "warn") : ("healthy", "good")

        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="refresh" content="\(refreshSeconds)">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>dfs · \(escape(content.server))</title>
            <style>\(css)</style>
            </head>
            <body>
            <header><h1>dfs <span class="server">\(escape(content.server))</span></h1>
            <span class="badge \(verdict.tone)" id="verdict">\(verdict.text)</span></header>
            <section class="cards">
            \(card("Nodes", "\(alive) alive", detail: "\(dead) dead · \(leaving) leaving", tone: dead > 0 ? "warn" : "good", id: "nodes-summary"))
            \(card("Space", ByteSize.format(used) + " used", detail: "of " + ByteSize.format(capacity) + "<br>" + bar(used, of: capacity), tone: "plain", id: "space"))
            \(card("Files", "\(totals.files)", detail: ByteSize.format(totals.bytes) + " in \(totals.blocks) blocks", tone: "plain", id: "files"))
            \(card("Blocks", "\(healthy) healthy", detail: blockDetail(totals), tone: verdict.tone, id: "health"))
            </section>
            <section><h2>Activity</h2><div class="charts">
            \(chart("Requests", content.rates.map(\.requestsPerSecond), unit: "/s", bytes: false))
            \(chart("Written", content.rates.map(\.bytesWrittenPerSecond), unit: "/s", bytes: true))
            \(chart("Read", content.rates.map(\.bytesReadPerSecond), unit: "/s", bytes: true))
            </div></section>
            <section><h2>Data nodes</h2>
            <table id="nodes"><thead><tr><th>Node</th><th>Address</th><th>State</th><th>Space</th><th>Blocks</th><th>Heartbeat</th></tr></thead><tbody>

            """
        if status.nodes.isEmpty {
            html +=
                "<tr><td colspan=\"6\" class=\"empty\">No data node has registered yet: start one with <code>dfs serve-data --meta \(escape(content.server))</code></td></tr>\n"
        }
        for node in status.nodes {
            let state: (text: String, tone: String) =
                node.leaving == true
                ? ("leaving", "warn") : !node.alive ? ("dead", "bad") : node.slow == true ? ("slow", "warn") : ("alive", "good")
            let heartbeat = node.lastHeartbeatAge < 0 ? "none yet" : String(format: "%.1f s ago", node.lastHeartbeatAge)
            html += """
                <tr class="node" data-state="\(state.text)"><td class="id">\(escape(node.id.rawValue))</td><td>\(escape(node.address.description))</td>\
                <td><span class="badge \(state.tone)">\(state.text)</span></td>\
                <td>\(bar(node.used, of: node.capacity)) \(ByteSize.format(node.used)) of \(ByteSize.format(node.capacity))</td>\
                <td class="number">\(node.blocks)</td><td class="number">\(heartbeat)</td></tr>

                """
        }
        html += "</tbody></table></section>\n"
        html += "<section><h2>Files with unhealthy blocks</h2>\n"
        if content.problemFiles.isEmpty {
            html += "<p class=\"empty\" id=\"problems\">None: every block has its replicas.</p>\n"
        } else {
            html += "<table id=\"problems\"><thead><tr><th>File</th><th>Missing</th><th>Corrupt</th><th>Under-replicated</th></tr></thead><tbody>\n"
            for file in content.problemFiles {
                let count = { (kind: BlockProblem.Kind) in file.problems.filter { $0.kind == kind }.count }
                html += """
                    <tr><td class="path">\(escape(file.path.description))</td><td class="number">\(count(.missing))</td>\
                    <td class="number">\(count(.corrupt))</td><td class="number">\(count(.underReplicated))</td></tr>

                    """
            }
            html += "</tbody></table>\n"
            if unhealthy > 0 { html += "<p class=\"hint\">All of them: <code>dfs fsck \(escape(content.server)):/</code></p>\n" }
        }
        html += """
            </section>
            <footer>dfs \(escape(content.version)) · up \(duration(content.uptime)) · \(timestamp(content.generatedAt)) · \
            <a href="/metrics">metrics</a> · <a href="/api/status">status as JSON</a></footer>
            </body>
            </html>

            """
        return html
    }

    /// Files with problems, worst first: missing blocks, then corrupt, then under-replicated.
    public static func worst(_ files: [FileProblems]) -> [FileProblems] {
        func weight(_ file: FileProblems) -> (Int, Int, Int) {
            (
                file.problems.filter { $0.kind == .missing }.count, file.problems.filter { $0.kind == .corrupt }.count,
                file.problems.filter { $0.kind == .underReplicated }.count
            )
        }
        return Array(files.sorted { weight($0) > weight($1) }.prefix(problemFilesListed))
    }

    /// Text for HTML: the five characters that could end an element or an attribute escaped.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters would not show, and bidirectional ones could make a
                // name read as another; their code points show instead.
                if character.value < 0x20 || (0x7f..<0xa0).contains(character.value) || DisplayText.isMisleading(character) {
                    out += "&#\(character.value);"
                } else {
                    out.unicodeScalars.append(character)
                }
            }
        }
        return out
    }

    private static func card(_ title: String, _ value: String, detail: String, tone: String, id: String) -> String {
        "<div class=\"card \(tone)\" id=\"\(id)\"><div class=\"title\">\(title)</div><div class=\"value\">\(escape(value))</div><div class=\"detail\">\(detail)</div></div>"
    }

    /// The unhealthy counts, each in its warning colour when it is not zero.
    private static func blockDetail(_ totals: HealthTotals) -> String {
        func part(_ count: Int, _ name: String, _ style: String) -> String {
            count > 0 ? "<span class=\"\(style)\">\(count) \(name)</span>" : "\(count) \(name)"
        }
        return [
            part(totals.underReplicated, "under-replicated", "under"), part(totals.missing, "missing", "missing"),
            part(totals.corrupt, "corrupt", "corrupt"),
        ].joined(separator: " · ")
    }

    /// A small horizontal bar: `part` of `whole`.
    private static func bar(_ part: Int, of whole: Int) -> String {
        let fraction = whole > 0 ? min(1, max(0, Double(part) / Double(whole))) : 0
        let tone = fraction > 0.9 ? "bad" : fraction > 0.75 ? "warn" : "good"
        return String(
            format: "<svg class=\"bar\" width=\"100\" height=\"8\" viewBox=\"0 0 100 8\" role=\"img\" aria-label=\"%.0f%% used\">"
                + "<rect width=\"100\" height=\"8\" rx=\"2\" class=\"track\"/><rect width=\"%.1f\" height=\"8\" rx=\"2\" class=\"fill %@\"/></svg>",
            fraction * 100, fraction * 100, tone)
    }

    /// A line chart of `values` (oldest first) with its latest and highest value.
    private static func chart(_ title: String, _ values: [Double], unit: String, bytes: Bool) -> String {
        let width = 300.0
        let height = 70.0
        func text(_ value: Double) -> String {
            bytes ? ByteSize.format(Int(value.rounded())) + unit : String(format: value >= 100 ? "%.0f" : "%.1f", value) + unit
        }
        var svg = "<figure class=\"chart\"><figcaption>\(title) <b>\(values.last.map(text) ?? "–")</b>"
        let peak = values.max() ?? 0
        svg += " <span class=\"peak\">peak \(text(peak))</span></figcaption>"
        svg += "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(title)\">"
        svg += "<line x1=\"0\" y1=\"\(height - 0.5)\" x2=\"\(width)\" y2=\"\(height - 0.5)\" class=\"axis\"/>"
        if values.count >= 2 {
            // The samples there are, oldest at the left edge, the latest at the right.
            let top = peak > 0 ? peak : 1
            let step = width / Double(values.count - 1)
            let points = values.enumerated().map { index, value in
                String(format: "%.1f,%.1f", step * Double(index), (height - 2) - (height - 6) * value / top)
            }
            svg += "<polyline points=\"\(points.joined(separator: " "))\" class=\"line\"/>"
        } else {
            svg += "<text x=\"\(Int(width / 2))\" y=\"\(Int(height / 2))\" class=\"waiting\">collecting…</text>"
        }
        let span = Double(values.count) * ThroughputHistory.interval
        svg += "</svg><div class=\"axis-labels\"><span>\(span >= 120 ? "\(Int(span / 60)) min ago" : "\(Int(span)) s ago")</span><span>now</span></div>"
        return svg + "</figure>"
    }

    private static func duration(_ seconds: Double) -> String {
        let whole = Int(max(0, seconds))
        if whole < 120 { return "\(whole) s" }
        if whole < 7200 { return "\(whole / 60) min" }
        if whole < 172_800 { return "\(whole / 3600) h" }
        return "\(whole / 86400) days"
    }

    private static func timestamp(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds).formatted(.iso8601)
    }

    private static let css = """
        body{font:14px/1.4 "DejaVu Sans",system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:16px 24px;color:#1d2430;background:#f6f7f9}
        header{display:flex;align-items:center;gap:16px}h1{font-size:22px;margin:8px 0}h1 .server{font-weight:400;color:#5b6575}
        h2{font-size:15px;margin:22px 0 8px;color:#394252}
        .cards{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin-top:12px}
        .card{background:#fff;border-radius:8px;padding:12px 14px;border-top:4px solid #9aa4b2;box-shadow:0 1px 2px #0001}
        .card.good{border-top-color:#2f9e44}.card.warn{border-top-color:#e8a400}.card.bad{border-top-color:#d6336c}
        .card .title{color:#5b6575;font-size:12px;text-transform:uppercase;letter-spacing:.04em}.card .value{font-size:22px;font-weight:600}
        .card .detail{color:#5b6575;font-size:12px}.missing,.corrupt{color:#b0264f}.under{color:#9a6b00}
        .badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;background:#9aa4b2}
        .badge.good{background:#2f9e44}.badge.warn{background:#e8a400}.badge.bad{background:#d6336c}
        table{border-collapse:collapse;width:100%;background:#fff;border-radius:8px;box-shadow:0 1px 2px #0001}
        th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #eceef2}th{font-size:12px;color:#5b6575;font-weight:600}
        td.number{text-align:right;font-variant-numeric:tabular-nums}td.id,td.path{font-family:"DejaVu Sans Mono",monospace;font-size:12px;word-break:break-all}
        .bar{vertical-align:middle}.bar .track{fill:#e3e6eb}.bar .fill.good{fill:#2f9e44}.bar .fill.warn{fill:#e8a400}.bar .fill.bad{fill:#d6336c}
        .charts{display:flex;gap:12px;flex-wrap:wrap}.chart{margin:0;background:#fff;border-radius:8px;padding:8px 12px;box-shadow:0 1px 2px #0001}
        .chart figcaption{font-size:12px;color:#5b6575}.chart .peak{float:right}.chart .line{fill:none;stroke:#3b6fd8;stroke-width:1.5}
        .chart .axis{stroke:#d3d7de}.axis-labels{display:flex;justify-content:space-between;font-size:11px;color:#9aa4b2}.chart .waiting{fill:#9aa4b2;font-size:12px;text-anchor:middle}
        .empty,.hint{color:#5b6575}code{background:#eceef2;padding:1px 4px;border-radius:3px}
        footer{margin:24px 0 8px;color:#7a8494;font-size:12px}a{color:#3b6fd8}
        """
}

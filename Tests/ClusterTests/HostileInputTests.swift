import DFSCore
import DFSNet
import DFSTesting
import Foundation
import Testing

/// Servers as separate processes under every kind of bad input at once: hand-made malformed
/// frames, hundreds of random ones, then hundreds of idle connections. Afterwards the cluster
/// still serves, and neither server's memory has grown past its limits.
@Suite struct HostileInputTests {
    /// Frames that break the protocol in each way a server must survive.
    static func malformedInputs() -> [(String, [UInt8], needsHello: Bool)] {
        func frame(_ json: String) -> [UInt8] {
            let header = Array(json.utf8)
            let length = UInt32(header.count)
            return [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + header
        }
        return [
            ("an HTTP request", Array("GET / HTTP/1.1\r\nHost: dfs\r\n\r\n".utf8), false),
            ("a length of 0", [0, 0, 0, 0], false),
            ("a length of 4 GiB", [0xff, 0xff, 0xff, 0xff] + Array(repeating: 0x41, count: 64), false),
            ("a truncated header", Array(frame(#"{"type":"hello","body":{"protocolVersion":1}}"#).prefix(12)), false),
            ("invalid JSON", frame("{this is not json"), false),
            ("JSON of the wrong shape", frame(#"[1, 2, 3]"#), false),
            ("a hello of the wrong shape", frame(#"{"type":"hello","body":{"protocolVersion":"one"}}"#), false),
            ("an unknown message type", frame(#"{"type":"formatDisk","body":{}}"#), true),
            ("a negative payload", frame(#"{"type":"blockData","payload":-5,"body":{"checksums":[]}}"#), true),
            ("a huge payload", frame(#"{"type":"blockData","payload":99999999999,"body":{"checksums":[]}}"#), true),
            ("a negative block size", frame(#"{"type":"createFile","body":{"path":"/x","blockBytes":-1,"overwrite":true}}"#), true),
            ("a negative block length", frame(#"{"type":"writeBlock","body":{"blockID":5,"length":-5,"pipeline":[]}}"#), true),
            ("a huge block length", frame(#"{"type":"writeBlock","body":{"blockID":5,"length":99999999999999,"pipeline":[]}}"#), true),
            ("a negative offset", frame(#"{"type":"readBlock","body":{"blockID":1,"offset":-65536}}"#), true),
            ("a block that does not exist", frame(#"{"type":"readBlock","body":{"blockID":123456789,"offset":0}}"#), true),
            ("a negative block id", frame(#"{"type":"readBlock","body":{"blockID":-1,"offset":0}}"#), true),
            ("a path with ..", frame(#"{"type":"getFile","body":{"path":"/../../etc/passwd"}}"#), true),
            ("a path with NUL", frame(#"{"type":"list","body":{"path":"/a\u0000b"}}"#), true),
            ("a path of 100 KiB", frame(#"{"type":"list","body":{"path":"/"# + String(repeating: "a", count: 100_000) + #""}}"#), true),
            ("a field of the wrong type", frame(#"{"type":"list","body":{"path":5}}"#), true),
            ("a block report from a stranger", frame(#"{"type":"heartbeat","body":{"nodeID":"../../x","capacityBytes":-1}}"#), true),
        ]
    }

    static func residentMiB(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return -1 }
        let kib = Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
        return kib / 1024
    }

    @Test func serversSurviveGarbageFloodsAndIdleConnections() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("in", count: 2_000_000, seed: 71)
        let meta = try await ServerProcess(["serve-meta", "--host", "127.0.0.1", "--port", "0", "--db", local.path("meta.db"), "--heartbeat", "200ms"])
        defer { meta.kill() }
        let node = try await ServerProcess([
            "serve-data", "--listen", "127.0.0.1:0", "--meta", meta.endpoint.description, "--dir", local.path("data"),
        ])
        defer { node.kill() }
        let remote = "\(meta.endpoint):/h/in"
        try await eventually(timeout: .seconds(20), "the node registered and an upload works") {
            try await DFSBinary.run(["cp", "--replication", "1", local.path("in"), remote]).status == 0
        }
        let servers = [meta.endpoint, node.endpoint]

        // Each malformed input gets an error frame or a closed connection, never a hang.
        for endpoint in servers {
            for (what, bytes, needsHello) in Self.malformedInputs() {
                let connection =
                    needsHello
                    ? try await Connection.open(to: endpoint, role: .client, timeout: .seconds(20))
                    : try await Connection.connect(to: endpoint, timeout: .seconds(20))
                try? await connection.sendRaw(bytes, timeout: .seconds(20))
                if what == "a truncated header" {
                    await connection.close()
                    continue
                }
                do {
                    if let reply = try await connection.readFrame(timeout: .seconds(15)) {
                        #expect(reply.type == MessageType.error.rawValue, "\(what) at \(endpoint): got \(reply.type)")
                    }
                } catch let error as DFSError {
                    #expect(error.code != .timeout, "\(what) at \(endpoint): no answer and no close")
                }
                await connection.close()
            }
        }

        // Hundreds of random frames, some mutated from valid ones; the seed is printed so a
        // failure can be replayed with DFS_FUZZ_SEED.
        let seed = ProcessInfo.processInfo.environment["DFS_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        var random = SplitMix64(seed: seed)
        let valid = Array(#"{"type":"list","body":{"path":"/h"}}"#.utf8)
        for round in 0..<300 {
            let endpoint = servers[round % servers.count]
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(random.next() % 200)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            } else {
                bytes = [0, 0, 0, UInt8(valid.count)] + valid
                for _ in 0..<(1 + Int(random.next() % 4)) {
                    let index = Int(random.next() % UInt64(bytes.count))
                    bytes[index] = UInt8(truncatingIfNeeded: random.next())
                }
            }
            let connection =
                round % 3 == 0
                ? try await Connection.open(to: endpoint, role: .client, timeout: .seconds(20))
                : try await Connection.connect(to: endpoint, timeout: .seconds(20))
            try? await connection.sendRaw(bytes, timeout: .seconds(20))
            await connection.close()
        }

        // Idle connections hold slots but stop nobody else.
        var idle: [Connection] = []
        for index in 0..<300 {
            idle.append(try await Connection.connect(to: servers[index % 2], timeout: .seconds(20)))
        }
        let upload = try await DFSBinary.run(["cp", "--replication", "1", local.path("in"), "\(meta.endpoint):/h/again"])
        #expect(upload.status == 0, "seed \(seed): \(upload.standardError)")
        let download = try await DFSBinary.run(["cp", "\(meta.endpoint):/h/again", local.path("out")])
        #expect(download.status == 0, "seed \(seed): \(download.standardError)")
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("out")))) == original, "seed \(seed)")
        for server in [meta, node] {
            let resident = Self.residentMiB(server.processIdentifier)
            #expect(resident > 0 && resident < 200, "seed \(seed): a server holds \(resident) MiB after the flood")
        }
        for connection in idle { await connection.close() }
        // Nothing was written outside the node's folder, and nothing odd inside it.
        let names = try FileManager.default.contentsOfDirectory(atPath: local.path("data")).sorted()
        #expect(names == ["blocks", "node-id"], "\(names)")
    }
}

import DFSClient
import DFSCore
import DFSSystem
import DFSTesting
import Foundation
import Testing

/// Listings through the gateway as the real clients use them: `aws s3 ls` with prefixes,
/// `aws s3 sync` both ways (a second sync copies nothing), `aws s3 rm --recursive`, boto3's
/// list_objects_v2 paginated over 2,500 keys, and rclone's copy, check and lsjson.
@Suite(.enabled(if: TestGateway.clientsAvailable, "\(TestGateway.unavailableReason)"))
struct S3ClientListingTests {
    /// A local tree synced up, listed, synced back down into an empty folder, compared; a
    /// second sync each way copies nothing; rm --recursive empties the bucket, which rb then removes.
    @Test func awsSyncBothWaysThenRemoveEverything() async throws {
        try await TestGateway.with { gateway in
            let local = gateway.folder
            var files: [String: [UInt8]] = [:]
            for (index, name) in ["a.txt", "a-b.txt", "a/b.txt", "a/c/d.bin", "photos/2026/x y.jpg", "photos/2026/z+1.jpg", "ü/ключ.txt"].enumerated() {
                let path = local.path("up/" + name)
                _ = try FileSystem.makeFolders((path as NSString).deletingLastPathComponent)
                files[name] = try local.writeRandomFile("up/" + name, count: 100 * index + 1, seed: UInt64(index))
            }
            #expect(try await gateway.aws(["s3", "mb", "s3://tree"]).status == 0)
            let up = try await gateway.aws(["s3", "sync", local.path("up"), "s3://tree/root"])
            #expect(up.status == 0, "\(up.standardError)")
            #expect(up.standardOutput.components(separatedBy: "upload:").count - 1 == files.count, "\(up.standardOutput)")
            let again = try await gateway.aws(["s3", "sync", local.path("up"), "s3://tree/root"])
            #expect(again.status == 0 && !again.standardOutput.contains("upload:"), "\(again.standardOutput)")

            let top = try await gateway.aws(["s3", "ls", "s3://tree/root/"])
            #expect(top.status == 0, "\(top.standardError)")
            for line in ["PRE a/", "PRE photos/", "PRE ü/", " a.txt", " a-b.txt"] {
                #expect(top.standardOutput.contains(line), "\(line) in \(top.standardOutput)")
            }
            let prefixed = try await gateway.aws(["s3", "ls", "s3://tree/root/photos/2026/"])
            #expect(prefixed.standardOutput.contains("x y.jpg") && prefixed.standardOutput.contains("z+1.jpg"), "\(prefixed.standardOutput)")
            let recursive = try await gateway.aws(["s3", "ls", "--recursive", "s3://tree/root/"])
            let keys = recursive.standardOutput.split(separator: "\n").compactMap { line in
                line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true).last.map(String.init)
            }
            #expect(keys == files.keys.map { "root/" + $0 }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }, "\(recursive.standardOutput)")

            let down = try await gateway.aws(["s3", "sync", "s3://tree/root", local.path("down")])
            #expect(down.status == 0, "\(down.standardError)")
            for (name, bytes) in files { #expect(try FileSystem.contents(of: local.path("down/" + name)) == bytes, "\(name)") }
            let downAgain = try await gateway.aws(["s3", "sync", "s3://tree/root", local.path("down")])
            #expect(downAgain.status == 0 && !downAgain.standardOutput.contains("download:"), "\(downAgain.standardOutput)")

            let removed = try await gateway.aws(["s3", "rm", "--recursive", "s3://tree/"])
            #expect(removed.status == 0, "\(removed.standardError)")
            let empty = try await gateway.aws(["s3", "ls", "--recursive", "s3://tree/"])
            #expect(empty.standardOutput.isEmpty, "\(empty.standardOutput)")
            let bucketGone = try await gateway.aws(["s3", "rb", "s3://tree"])
            #expect(bucketGone.status == 0, "\(bucketGone.standardError)")
        }
    }

    /// list_objects_v2 over 2,500 keys in pages of 1,000 (and of 7 with a prefix), and the
    /// v1 ListObjects with markers: every key once, in order.
    @Test func boto3PaginatesOverThousandsOfKeys() async throws {
        try await TestGateway.with { gateway in
            let result = try await gateway.python(
                """
                from concurrent.futures import ThreadPoolExecutor
                s3.create_bucket(Bucket="many")
                keys = sorted(["k/%04d" % i for i in range(2400)] + ["k%03d" % i for i in range(100)])
                with ThreadPoolExecutor(8) as pool:
                    list(pool.map(lambda key: s3.put_object(Bucket="many", Key=key, Body=key.encode()), keys))
                seen = []
                pages = 0
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket="many"):
                    pages += 1
                    seen += [entry["Key"] for entry in page.get("Contents", [])]
                assert seen == keys, (len(seen), seen[:3])
                assert pages == 3, pages
                small = [entry["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="many", Prefix="k/00", PaginationConfig={"PageSize": 7}) for entry in page.get("Contents", [])]
                assert small == [key for key in keys if key.startswith("k/00")], small[:5]
                folders = s3.list_objects_v2(Bucket="many", Delimiter="/")
                assert [p["Prefix"] for p in folders["CommonPrefixes"]] == ["k/"], folders
                assert len(folders["Contents"]) == 100 and folders["KeyCount"] == 101, folders["KeyCount"]
                v1 = [entry["Key"] for page in s3.get_paginator("list_objects").paginate(Bucket="many", PaginationConfig={"PageSize": 900}) for entry in page.get("Contents", [])]
                assert v1 == keys, len(v1)
                """, timeout: .seconds(300))
            #expect(result.status == 0, "\(result.standardError)\(result.standardOutput)")
        }
    }

    /// rclone's S3 backend ("Other" provider, ListObjects v1 by default): copy a tree in, check
    /// sizes and MD5s against the source, list it as JSON.
    @Test func rcloneCopiesChecksAndLists() async throws {
        guard (try? FileSystem.status("/usr/bin/rclone")) != nil else {
            Issue.record("rclone is missing: run make deps")
            return
        }
        try await TestGateway.with { gateway in
            let local = gateway.folder
            for index in 0..<20 {
                let name = "src/d\(index % 3)/f\(index).bin"
                _ = try FileSystem.makeFolders((local.path(name) as NSString).deletingLastPathComponent)
                _ = try local.writeRandomFile(name, count: 1000 * index, seed: UInt64(index))
            }
            let config = """
                [dfs]
                type = s3
                provider = Other
                access_key_id = \(TestGateway.accessKey)
                secret_access_key = \(TestGateway.secretKey)
                endpoint = \(gateway.url)
                region = us-east-1
                """
            try FileSystem.write(Array(config.utf8), to: local.path("rclone.conf"))
            // rclone's AWS library refuses an AWS_CA_BUNDLE with a plain-HTTP endpoint.
            var environment = gateway.environment
            environment["AWS_CA_BUNDLE"] = nil
            environment["HOME"] = local.path("")
            func rclone(_ arguments: [String]) async throws -> DFSBinary.Result {
                try await Subprocess.run(
                    "/usr/bin/rclone", ["--config", local.path("rclone.conf")] + arguments, environment: environment, timeout: .seconds(120))
            }
            let made = try await rclone(["mkdir", "dfs:rbucket"])
            #expect(made.status == 0, "\(made.standardError)")
            let copied = try await rclone(["copy", local.path("src"), "dfs:rbucket/tree"])
            #expect(copied.status == 0, "\(copied.standardError)")
            let checked = try await rclone(["check", local.path("src"), "dfs:rbucket/tree"])
            #expect(checked.status == 0, "\(checked.standardError)")
            #expect(checked.standardError.contains("0 differences found"), "\(checked.standardError)")
            let listed = try await rclone(["lsjson", "-R", "--files-only", "dfs:rbucket/tree"])
            #expect(listed.status == 0, "\(listed.standardError)")
            let entries = try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [[String: Any]] ?? []
            #expect(entries.count == 20)
            #expect(Set(entries.compactMap { $0["Path"] as? String }) == Set((0..<20).map { "d\($0 % 3)/f\($0).bin" }))
        }
    }
}

import DFSClient
import DFSCore
import DFSSystem
import DFSTesting
import Testing

@testable import DFSMount

/// ``SmallFileUploads`` against an in-process cluster: how uploads are gathered into batches.
@Suite struct SmallFileUploadsTests {
    /// Patient uploads wait for others (here far longer than the test runs) until a batch
    /// fills: 64 go as one batch, the 65th waits; an upload someone waits for then takes it
    /// along at once. Every file is in the cluster with its bytes.
    @Test func patientUploadsGatherUntilABatchFillsOrSomeoneWaits() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let count = Limits.filesPerBatchMax + 1
        var contents: [[UInt8]] = []
        for index in 0...count {
            contents.append(try local.writeRandomFile("f\(index)", count: 100 + index, seed: UInt64(index)))
        }
        try await withCluster(dataNodes: 1) { cluster in
            let uploads = SmallFileUploads(client: cluster.client, options: UploadOptions(replication: 1), gatherTime: .seconds(600))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    group.addTask { try await uploads.upload(local.path("f\(index)"), to: try DFSPath("/f\(index)"), patient: true) }
                }
                // The first 64 fill a batch and go; the last one stays, with no timer near.
                try await eventually("64 files sent, one left waiting") {
                    let sent = await uploads.fileCount
                    let waiting = await uploads.waitingCount
                    return sent == Limits.filesPerBatchMax && waiting == 1
                }
                #expect(await uploads.batchCount == 1)
                // An upload a caller waits for does not wait, and takes the patient one along.
                try await uploads.upload(local.path("f\(count)"), to: try DFSPath("/f\(count)"))
                try await group.waitForAll()
            }
            #expect(await uploads.batchCount == 2)
            #expect(await uploads.fileCount == count + 1)
            for index in 0...count {
                _ = try await cluster.client.download(try DFSPath("/f\(index)"), to: local.path("out\(index)"))
                #expect(try FileSystem.contents(of: local.path("out\(index)")) == contents[index], "file \(index)")
            }
        }
    }

    /// A patient upload alone goes once its gather time has passed.
    @Test func aLonePatientUploadGoesAfterItsGatherTime() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let bytes = try local.writeRandomFile("f", count: 4096, seed: 1)
        try await withCluster(dataNodes: 1) { cluster in
            let uploads = SmallFileUploads(client: cluster.client, options: UploadOptions(replication: 1), gatherTime: .milliseconds(50))
            let started = ContinuousClock.now
            try await uploads.upload(local.path("f"), to: try DFSPath("/f"), patient: true)
            #expect(ContinuousClock.now - started >= .milliseconds(50))
            #expect(await uploads.batchCount == 1)
            _ = try await cluster.client.download(try DFSPath("/f"), to: local.path("out"))
            #expect(try FileSystem.contents(of: local.path("out")) == bytes)
        }
    }
}

import DFSClient
import DFSCore

/// Uploads of small staged files, gathered into batches as a database gathers commits.
///
/// A small file costs three round trips and a commit on the meta server whether it goes
/// alone (`createFile`, `writeBlock`, `completeFile`) or with 63 others (`createFiles`,
/// `writeBlocks`, `completeFiles`, the batch of `dfs cp -r`). So an upload asked for while
/// ``batchesInFlightMax`` batches are under way waits for one of them to end and then goes
/// with every upload that gathered meanwhile, up to ``Limits/filesPerBatchMax``. There is no
/// timer: a lone close starts its upload at once and waits no longer than it did alone,
/// and closes that come together (many writers, or write-back's closes that do not wait)
/// share the round trips. Each caller returns when its own file is complete on every
/// replica, or with its own file's error.
actor SmallFileUploads {
    /// Batches under way at once: three keep the pipelines busy while the next one gathers.
    static let batchesInFlightMax = 3

    private struct Waiting {
        let file: SmallFileUpload
        let continuation: CheckedContinuation<Void, any Error>
    }

    private let client: DFSClient
    private let options: UploadOptions
    private var waiting: [Waiting] = []
    private var batchesInFlight = 0
    /// Batches sent and files in them since the mount started (the tests read them in the log).
    private(set) var batchCount = 0
    private(set) var fileCount = 0

    init(client: DFSClient, options: UploadOptions) {
        self.client = client
        self.options = options
    }

    /// Uploads the staged file at `stagedPath` to `path`, created with `attributes`' mode,
    /// owner and group (none: the replaced version's); returns once it is complete in the
    /// cluster. The caller keeps the staged file unchanged until then.
    func upload(_ stagedPath: String, to path: DFSPath, attributes: PendingAttributes = PendingAttributes()) async throws {
        let file = SmallFileUpload(localPath: stagedPath, path: path, mode: attributes.mode, uid: attributes.uid, gid: attributes.gid)
        try await withCheckedThrowingContinuation { continuation in
            waiting.append(Waiting(file: file, continuation: continuation))
            startBatches()
        }
    }

    private func startBatches() {
        while batchesInFlight < Self.batchesInFlightMax, !waiting.isEmpty {
            let batch = Array(waiting.prefix(Limits.filesPerBatchMax))
            waiting.removeFirst(batch.count)
            batchesInFlight += 1
            batchCount += 1
            fileCount += batch.count
            Task { await self.send(batch) }
        }
    }

    private func send(_ batch: [Waiting]) async {
        let errors = await client.uploadSmallFiles(batch.map(\.file), options: options)
        Log.debug("mount", "uploaded a batch of \(batch.count) files (\(batchCount) batches, \(fileCount) files so far)")
        for (entry, error) in zip(batch, errors) {
            if let error { entry.continuation.resume(throwing: error) } else { entry.continuation.resume() }
        }
        batchesInFlight -= 1
        startBatches()
    }
}

import DFSClient
import DFSCore

/// Uploads of small staged files, gathered into batches as a database gathers commits.
///
/// A small file costs three round trips and a commit on the meta server whether it goes
/// alone (`createFile`, `writeBlock`, `completeFile`) or with 63 others (`createFiles`,
/// `writeBlocks`, `completeFiles`, the batch of `dfs cp -r`). So an upload asked for while
/// ``batchesInFlightMax`` batches are under way waits for one of them to end and then goes
/// with every upload that gathered meanwhile, up to ``Limits/filesPerBatchMax``. There is no
/// wait for a lone close that waits for its upload: it starts at once and waits no longer
/// than it did alone, and closes that come together (many writers) share the round trips.
/// A patient upload (write-back's, which no program waits for) waits up to ``gatherTime``
/// for others to share a batch with, unless a batch fills or an upload someone waits for
/// joins: a `cp -r` through a write-back mount otherwise sent half its files in batches of
/// one, as each batch ended (953 batches for 10,000 files), and the cluster spent three
/// times the CPU per file that `dfs cp -r`'s batches of 64 cost it. Each caller returns
/// when its own file is complete on every replica, or with its own file's error.
actor SmallFileUploads {
    /// Batches under way at once: three keep the pipelines busy while the next one gathers.
    static let batchesInFlightMax = 3
    /// How long a patient upload waits for others before its batch goes anyway, by default.
    static let gatherTimeDefault = Duration.milliseconds(100)

    private struct Waiting {
        let file: SmallFileUpload
        let continuation: CheckedContinuation<Void, any Error>
        let patient: Bool
        let since: ContinuousClock.Instant
    }

    private let client: DFSClient
    private let options: UploadOptions
    let gatherTime: Duration
    private var waiting: [Waiting] = []
    private var batchesInFlight = 0
    /// Waiting uploads that someone waits for: while there is one, a batch goes at once.
    private var urgentWaiting = 0
    private var gatherTimerSet = false
    /// Batches sent and files in them since the mount started (the tests read them in the log).
    private(set) var batchCount = 0
    private(set) var fileCount = 0

    init(client: DFSClient, options: UploadOptions, gatherTime: Duration = SmallFileUploads.gatherTimeDefault) {
        self.client = client
        self.options = options
        self.gatherTime = gatherTime
    }

    /// Uploads waiting for a batch to start.
    var waitingCount: Int { waiting.count }

    /// Uploads the staged file at `stagedPath` to `path`, created with `attributes`' mode,
    /// owner and group (none: the replaced version's); returns once it is complete in the
    /// cluster. The caller keeps the staged file unchanged until then. A `patient` upload
    /// may wait up to ``gatherTime`` to share its batch.
    func upload(_ stagedPath: String, to path: DFSPath, attributes: PendingAttributes = PendingAttributes(), patient: Bool = false) async throws {
        let file = SmallFileUpload(localPath: stagedPath, path: path, mode: attributes.mode, uid: attributes.uid, gid: attributes.gid)
        try await withCheckedThrowingContinuation { continuation in
            waiting.append(Waiting(file: file, continuation: continuation, patient: patient, since: .now))
            if !patient { urgentWaiting += 1 }
            startBatches()
        }
    }

    private func startBatches() {
        while batchesInFlight < Self.batchesInFlightMax, let first = waiting.first {
            let waited = ContinuousClock.now - first.since
            guard urgentWaiting > 0 || waiting.count >= Limits.filesPerBatchMax || waited >= gatherTime else {
                setGatherTimer(after: gatherTime - waited)
                return
            }
            let batch = Array(waiting.prefix(Limits.filesPerBatchMax))
            waiting.removeFirst(batch.count)
            urgentWaiting -= batch.count { !$0.patient }
            batchesInFlight += 1
            batchCount += 1
            fileCount += batch.count
            Task { await self.send(batch) }
        }
    }

    /// Looks again once the oldest patient upload has waited its time.
    private func setGatherTimer(after delay: Duration) {
        guard !gatherTimerSet else { return }
        gatherTimerSet = true
        Task {
            try? await Task.sleep(for: delay)
            self.gatherTimeEnded()
        }
    }

    private func gatherTimeEnded() {
        gatherTimerSet = false
        startBatches()
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

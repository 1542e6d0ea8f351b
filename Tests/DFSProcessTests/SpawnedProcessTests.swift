import DFSCore
import DFSProcess
import Foundation
import Testing

/// Child processes as the benchmark and the tests start them: output to a file, the exit
/// status as a shell reports it, the child's own peak memory.
@Suite struct SpawnedProcessTests {
    func outputPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("dfs-spawn-test-\(UUID().uuidString)").path
    }

    @Test func runsToItsEndWithOutputStatusAndPeakMemory() throws {
        let path = outputPath()
        defer { unlink(path) }
        let process = try SpawnedProcess("/bin/sh", ["-c", "echo hello; exit 3"], outputPath: path)
        process.waitUntilExit()
        #expect(!process.isRunning)
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 3)
        #expect(process.shellStatus == 3)
        #expect((process.peakResidentBytes ?? 0) > 0)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "hello\n")
    }

    @Test func aSignalIsReportedAsAShellWould() throws {
        let process = try SpawnedProcess("/bin/sleep", ["30"])
        #expect(process.isRunning)
        #expect(process.peakResidentBytes == nil)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(process.terminationStatus == SIGKILL)
        #expect(process.shellStatus == 128 + SIGKILL)
    }

    /// The child starts with SIGTERM at its default whatever this thread blocks, so `stop`
    /// ends it within its grace.
    @Test func stopEndsAProcessWithSIGTERM() throws {
        let process = try SpawnedProcess("/bin/sleep", ["30"])
        let started = ContinuousClock.now
        process.stop(grace: .seconds(10))
        #expect(!process.isRunning)
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGTERM)
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func aMissingProgramIsAnError() {
        #expect(throws: DFSError.self) { try SpawnedProcess("/nonexistent/program", []) }
    }
}

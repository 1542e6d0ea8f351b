import DFSCore
import DFSSystem
import Testing

@testable import DFSMount

#if canImport(Glibc)
    import Glibc
#endif

/// Cluster errors become the errno a local file system gives for the same condition.
@Suite struct MountErrnoTests {
    @Test func clusterCodesMapToTheirErrno() {
        #expect(MountErrno.of(DFSError(.notFound, "no such file")) == ENOENT)
        #expect(MountErrno.of(DFSError(.alreadyExists, "exists")) == EEXIST)
        #expect(MountErrno.of(DFSError(.notADirectory, "a file")) == ENOTDIR)
        #expect(MountErrno.of(DFSError(.isADirectory, "a folder")) == EISDIR)
        #expect(MountErrno.of(DFSError(.unavailable, "cannot place block 0: every node is full")) == ENOSPC)
        #expect(MountErrno.of(DFSError(.unavailable, "cannot read block 0")) == EIO)
        #expect(MountErrno.of(DFSError(.checksumMismatch, "bad bytes")) == EIO)
        #expect(MountErrno.of(DFSError(.timeout, "slow")) == EIO)
    }

    @Test func ownAndSystemErrorsKeepTheirErrno() {
        #expect(MountErrno.of(MountError(ENOTEMPTY, "not empty")) == ENOTEMPTY)
        #expect(MountErrno.of(SystemError("pwrite", "/x", errno: .noSpace)) == ENOSPC)
    }
}

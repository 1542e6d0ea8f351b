import DFSCore
import Testing

@testable import DFSMount

/// Which lookups a folder's snapshot answers, for how long, and what it may never deny.
@Suite struct FolderSnapshotsTests {
    let start = ContinuousClock.now

    func path(_ text: String) throws -> DFSPath { try DFSPath(text) }

    @Test func aSecondMissListsTheFolderAndItsSnapshotAnswersAbsencesWithinTheWindow() throws {
        var snapshots = FolderSnapshots(window: .seconds(1))
        #expect(!snapshots.noteMiss(try path("/d/a"), at: start))
        #expect(snapshots.noteMiss(try path("/d/b"), at: start + .milliseconds(10)))
        // While the listing runs, nothing is answered and no second listing starts.
        #expect(snapshots.isAbsent(try path("/d/c"), at: start + .milliseconds(20)) == (false, false))
        #expect(!snapshots.noteMiss(try path("/d/c"), at: start + .milliseconds(20)))
        snapshots.added(try path("/d/made-meanwhile"))
        snapshots.store(try path("/d"), names: [(Array("x".utf8), nil)], startedAt: start + .milliseconds(10))

        #expect(snapshots.isAbsent(try path("/d/c"), at: start + .milliseconds(100)) == (true, false))
        #expect(snapshots.isAbsent(try path("/d/x"), at: start + .milliseconds(100)) == (false, false))
        #expect(snapshots.isAbsent(try path("/d/made-meanwhile"), at: start + .milliseconds(100)) == (false, false))
        // Other folders, and names deeper down, are not answered.
        #expect(snapshots.isAbsent(try path("/e/c"), at: start + .milliseconds(100)) == (false, false))
        #expect(snapshots.isAbsent(try path("/d/x/y"), at: start + .milliseconds(100)) == (false, false))
        // Past three quarters of its life, the first use asks for a refresh (once); past the
        // window, none.
        #expect(snapshots.isAbsent(try path("/d/c"), at: start + .milliseconds(600)) == (true, false))
        #expect(snapshots.isAbsent(try path("/d/c"), at: start + .milliseconds(800)) == (true, true))
        #expect(snapshots.isAbsent(try path("/d/c"), at: start + .milliseconds(900)) == (true, false))
        #expect(snapshots.isAbsent(try path("/d/c"), at: start + .milliseconds(1011)) == (false, false))
        #expect(snapshots.heldNames == 0)
    }

    /// A listed name's attributes answer within both windows of the listing's start, until
    /// this mount changes the name; a listing that started before the change does not give
    /// them back, one that started after does. An attribute window of 0 answers none.
    @Test func listedAttributesAnswerUntilTheNameChangesHere() throws {
        var snapshots = FolderSnapshots(window: .seconds(1), attributeWindow: .milliseconds(500))
        func info(_ name: String, size: Int) throws -> FileInfo {
            FileInfo(path: try path("/d/\(name)"), type: .file, size: size, mtime: 1_700_000_000, replication: 1, blockBytes: 1024, mode: 0o600, uid: 7, gid: 8)
        }
        #expect(!snapshots.noteMiss(try path("/d/a"), at: start))
        #expect(snapshots.noteMiss(try path("/d/b"), at: start))
        #expect(snapshots.listed(try path("/d/x"), at: start) == nil)
        snapshots.store(
            try path("/d"),
            names: [(Array("x".utf8), Attributes(inode: 0, try info("x", size: 10))), (Array("y".utf8), Attributes(inode: 0, try info("y", size: 20)))],
            startedAt: start)
        let x = try #require(snapshots.listed(try path("/d/x"), at: start + .milliseconds(100)))
        #expect(x.size == 10 && x.mode == 0o600 && x.uid == 7 && x.gid == 8)
        #expect(snapshots.listed(try path("/d/y"), at: start + .milliseconds(100))?.size == 20)
        #expect(snapshots.listed(try path("/d/z"), at: start + .milliseconds(100)) == nil)
        // Past the attribute window the name is still known present, its attributes not.
        #expect(snapshots.listed(try path("/d/x"), at: start + .milliseconds(500)) == nil)
        #expect(snapshots.isAbsent(try path("/d/x"), at: start + .milliseconds(500)).absent == false)

        // Changed here: no attributes, even from a listing that started before the change.
        snapshots.changed(try path("/d/x"), at: start + .milliseconds(200))
        #expect(snapshots.listed(try path("/d/x"), at: start + .milliseconds(200)) == nil)
        #expect(snapshots.listed(try path("/d/y"), at: start + .milliseconds(200))?.size == 20)
        snapshots.store(try path("/d"), names: [(Array("x".utf8), Attributes(inode: 0, try info("x", size: 10)))], startedAt: start + .milliseconds(150))
        #expect(snapshots.listed(try path("/d/x"), at: start + .milliseconds(300)) == nil)
        // A listing that started after the change gives the new attributes.
        snapshots.store(try path("/d"), names: [(Array("x".utf8), Attributes(inode: 0, try info("x", size: 11)))], startedAt: start + .milliseconds(250))
        #expect(snapshots.listed(try path("/d/x"), at: start + .milliseconds(300))?.size == 11)
        // A name made here has none until a later listing gives them.
        snapshots.added(try path("/d/new"))
        #expect(snapshots.listed(try path("/d/new")) == nil)
        #expect(snapshots.isAbsent(try path("/d/new")).absent == false)

        var noAttributes = FolderSnapshots(window: .seconds(1), attributeWindow: .zero)
        noAttributes.madeFolder(try path("/e"), since: start)
        noAttributes.store(try path("/e"), names: [(Array("x".utf8), Attributes(inode: 0, try info("x", size: 1)))], startedAt: start)
        #expect(noAttributes.listed(try path("/e/x"), at: start) == nil)
    }

    /// Names the cluster had list their folder after ``FolderSnapshots/findsBeforeListing``
    /// lookups within the window; a miss counts as many as half of them.
    @Test func manyFoundNamesListTheFolderAsTwoMissesDo() throws {
        var snapshots = FolderSnapshots(window: .seconds(1))
        for index in 1..<FolderSnapshots.findsBeforeListing {
            #expect(!snapshots.noteFound(try path("/d/f\(index)"), at: start + .milliseconds(index)))
        }
        #expect(snapshots.noteFound(try path("/d/last"), at: start + .milliseconds(100)))
        for index in 0..<(FolderSnapshots.findsBeforeListing / 2) {
            #expect(!snapshots.noteFound(try path("/e/f\(index)"), at: start))
        }
        #expect(snapshots.noteMiss(try path("/e/missing"), at: start))
        // Spread over more than the window, they do not.
        for index in 0..<(FolderSnapshots.findsBeforeListing * 2) {
            #expect(!snapshots.noteFound(try path("/g/f\(index)"), at: start + .milliseconds(1100 * index)))
        }
    }

    @Test func missesFarApartDoNotList() throws {
        var snapshots = FolderSnapshots(window: .seconds(1))
        #expect(!snapshots.noteMiss(try path("/d/a"), at: start))
        #expect(!snapshots.noteMiss(try path("/d/b"), at: start + .seconds(2)))
        #expect(snapshots.noteMiss(try path("/d/c"), at: start + .milliseconds(2100)))
    }

    @Test func namesMadeHereAreNeverDeniedAndARefreshKeepsThem() throws {
        var snapshots = FolderSnapshots(window: .seconds(1))
        snapshots.madeFolder(try path("/new"), since: start)
        #expect(snapshots.isAbsent(try path("/new/f1"), at: start) == (true, false))
        snapshots.added(try path("/new/f1"))
        #expect(snapshots.isAbsent(try path("/new/f1"), at: start) == (false, false))
        // A refresh that started before f2 was made does not list it: it stays held.
        #expect(snapshots.isAbsent(try path("/new/zz"), at: start + .milliseconds(800)) == (true, true))
        snapshots.added(try path("/new/f2"))
        snapshots.store(try path("/new"), names: [(Array("f1".utf8), nil)], startedAt: start + .milliseconds(800))
        #expect(snapshots.isAbsent(try path("/new/f2"), at: start + .milliseconds(900)) == (false, false))
        // The refreshed snapshot lives from its own start, and asks for the next refresh.
        #expect(snapshots.isAbsent(try path("/new/zz"), at: start + .milliseconds(1600)) == (true, true))
    }

    @Test func removingOrMovingAFolderDropsItsSnapshotAndThoseUnderIt() throws {
        var snapshots = FolderSnapshots(window: .seconds(1))
        for folder in ["/a", "/a/b", "/a/b/c", "/ab"] { snapshots.madeFolder(try path(folder), since: start) }
        snapshots.removed(try path("/a/b"))
        #expect(snapshots.isAbsent(try path("/a/x"), at: start).absent)
        #expect(!snapshots.isAbsent(try path("/a/b/x"), at: start).absent)
        #expect(!snapshots.isAbsent(try path("/a/b/c/x"), at: start).absent)
        #expect(snapshots.isAbsent(try path("/ab/x"), at: start).absent)
        // A listing still under way for a removed folder is not stored.
        #expect(!snapshots.noteMiss(try path("/q/1"), at: start))
        #expect(snapshots.noteMiss(try path("/q/2"), at: start))
        snapshots.removed(try path("/q"))
        snapshots.store(try path("/q"), names: [], startedAt: start)
        #expect(!snapshots.isAbsent(try path("/q/3"), at: start).absent)
    }

    @Test func tooLargeFoldersAndFailedListingsAreAskedAsBefore() throws {
        var snapshots = FolderSnapshots(window: .seconds(1))
        _ = snapshots.noteMiss(try path("/big/1"), at: start)
        #expect(snapshots.noteMiss(try path("/big/2"), at: start))
        snapshots.store(try path("/big"), names: nil, startedAt: start)
        #expect(!snapshots.isAbsent(try path("/big/3"), at: start).absent)
        // Not listed again until ten windows have passed.
        #expect(!snapshots.noteMiss(try path("/big/3"), at: start + .seconds(5)))
        _ = snapshots.noteMiss(try path("/big/4"), at: start + .seconds(11))
        #expect(snapshots.noteMiss(try path("/big/5"), at: start + .seconds(11)))

        _ = snapshots.noteMiss(try path("/f/1"), at: start)
        #expect(snapshots.noteMiss(try path("/f/2"), at: start))
        snapshots.listingFailed(try path("/f"))
        #expect(!snapshots.isAbsent(try path("/f/3"), at: start).absent)
    }

    @Test func boundsHoldAndAZeroWindowTurnsSnapshotsOff() throws {
        var snapshots = FolderSnapshots(window: .seconds(60))
        for index in 0..<(FolderSnapshots.foldersMax * 2) {
            snapshots.madeFolder(try path("/f\(index)"), since: start + .milliseconds(index))
        }
        // The most recent folders stay.
        #expect(snapshots.isAbsent(try path("/f\(FolderSnapshots.foldersMax * 2 - 1)/x"), at: start + .seconds(1)).absent)
        #expect(!snapshots.isAbsent(try path("/f0/x"), at: start + .seconds(1)).absent)
        let many = (0..<(FolderSnapshots.namesMax / 2 + 1)).map { (name: Array("n\($0)".utf8), listed: Attributes?.none) }
        snapshots.madeFolder(try path("/g"), since: start)
        _ = snapshots.noteMiss(try path("/h/1"), at: start)
        _ = snapshots.noteMiss(try path("/h/2"), at: start)
        snapshots.store(try path("/h"), names: many, startedAt: start)
        _ = snapshots.noteMiss(try path("/i/1"), at: start)
        _ = snapshots.noteMiss(try path("/i/2"), at: start)
        snapshots.store(try path("/i"), names: many, startedAt: start)
        #expect(snapshots.heldNames <= FolderSnapshots.namesMax)

        var off = FolderSnapshots(window: .zero)
        #expect(!off.noteMiss(try path("/d/a"), at: start))
        #expect(!off.noteMiss(try path("/d/b"), at: start))
        off.madeFolder(try path("/d"), since: start)
        #expect(!off.isAbsent(try path("/d/c"), at: start).absent)
    }
}

import DFSCore
import Testing

@testable import DFSMount

/// The inode table: numbers handed out, counted, forgotten, moved and unlinked as the
/// kernel and the namespace change.
@Suite struct InodeTableTests {
    func path(_ text: String) throws -> DFSPath { try DFSPath(text) }

    @Test func rootIsInodeOneAndIsNeverForgotten() throws {
        var table = InodeTable(root: try path("/data"))
        #expect(table.path(of: InodeTable.rootInode) == (try path("/data")))
        table.forget(InodeTable.rootInode, count: 100)
        #expect(table.path(of: InodeTable.rootInode) == (try path("/data")))
    }

    @Test func rememberingAPathAgainKeepsItsNumberAndCountsReferences() throws {
        var table = InodeTable(root: .root)
        let first = table.remember(try path("/a"))
        let again = table.remember(try path("/a"))
        #expect(first == again)
        #expect(first != InodeTable.rootInode)
        table.forget(first, count: 1)
        #expect(table.path(of: first) == (try path("/a")))
        table.forget(first, count: 1)
        #expect(table.path(of: first) == nil)
        #expect(table.inode(of: try path("/a")) == nil)
    }

    @Test func numbersAreNeverReused() throws {
        var table = InodeTable(root: .root)
        let first = table.remember(try path("/a"))
        table.forget(first, count: 1)
        let second = table.remember(try path("/a"))
        #expect(second != first)
    }

    @Test func movingAFolderMovesEverythingUnderIt() throws {
        var table = InodeTable(root: .root)
        let folder = table.remember(try path("/a"))
        let file = table.remember(try path("/a/b/c.txt"))
        let other = table.remember(try path("/ab"))
        table.move(try path("/a"), to: try path("/z/y"))
        #expect(table.path(of: folder) == (try path("/z/y")))
        #expect(table.path(of: file) == (try path("/z/y/b/c.txt")))
        #expect(table.path(of: other) == (try path("/ab")))
        #expect(table.inode(of: try path("/z/y/b/c.txt")) == file)
        #expect(table.inode(of: try path("/a/b/c.txt")) == nil)
    }

    @Test func aReplacedTargetIsUnlinkedButKeepsItsNumberUntilForgotten() throws {
        var table = InodeTable(root: .root)
        let source = table.remember(try path("/new"))
        let target = table.remember(try path("/old"))
        table.move(try path("/new"), to: try path("/old"))
        #expect(table.inode(of: try path("/old")) == source)
        #expect(table.entries[target]?.linked == false)
        table.forget(target, count: 1)
        #expect(table.entries[target] == nil)
        #expect(table.inode(of: try path("/old")) == source)
    }

    @Test func unlinkingAFolderUnlinksWhatIsUnderIt() throws {
        var table = InodeTable(root: .root)
        let folder = table.remember(try path("/f"))
        let file = table.remember(try path("/f/x"))
        table.unlink(try path("/f"))
        #expect(table.inode(of: try path("/f")) == nil)
        #expect(table.inode(of: try path("/f/x")) == nil)
        #expect(table.entries[folder]?.linked == false)
        #expect(table.entries[file]?.linked == false)
        let fresh = table.remember(try path("/f"))
        #expect(fresh != folder)
    }
}

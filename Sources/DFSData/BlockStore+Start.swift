import DFSCore
import DFSSystem
import Foundation

/// What a start does before the node serves: the folders, the node id, and a scan that finds
/// every stored block and removes what unfinished writes left behind.
extension BlockStore {
    /// Makes `blocks/` and `blocks/packs/`, and removes the `tmp/` folder where versions
    /// before the shard folders wrote blocks: what is left there are writes that never
    /// finished, and no one will finish them now.
    static func prepareFolders(root: URL, named folder: String) throws {
        do throws(SystemError) {
            try FileSystem.makeFolders(root.appendingPathComponent("blocks").path)
            if try FileSystem.makeFolder(root.appendingPathComponent("blocks/packs").path) {
                syncFolder(root.appendingPathComponent("blocks").path)
            }
            try FileSystem.removeTree(root.appendingPathComponent("tmp").path)
        } catch {
            throw DFSError(.ioError, "cannot use data folder \(folder): \(error.reason)")
        }
    }

    static func loadOrCreateNodeID(root: URL) throws -> NodeID {
        let file = root.appendingPathComponent("node-id")
        if let bytes = try? FileSystem.contents(of: file.path) {
            let text = String(decoding: bytes, as: UTF8.self)
            let id = NodeID(text.trimmingCharacters(in: .whitespacesAndNewlines))
            guard id.isWellFormed else {
                throw DFSError(.ioError, "\(file.path) does not hold a node id; remove it to make a new one")
            }
            return id
        }
        let id = NodeID(UUID().uuidString.lowercased())
        // Written beside its final name, flushed, then renamed: the id must survive a crash,
        // and a half-written one must never be read.
        let temp = file.path + ".tmp"
        do throws(SystemError) {
            let output = try OpenFile.createOrTruncate(temp)
            defer { output.close() }
            try output.writeAll(Array((id.rawValue + "\n").utf8))
            try output.sync()
            try FileSystem.renameAndSyncFolder(temp, to: file.path)
        } catch {
            FileSystem.removeQuietly(temp)
            throw DFSError(.ioError, "cannot write \(file.path): \(error.reason)")
        }
        return id
    }

    /// Finds every block file in the shard folders; run once at start. Temp files are removed.
    /// A block without its checksum file never finished being stored (the checksum file is
    /// renamed into place first) and is removed, as is a checksum file without its block.
    func scanBlockFiles() -> [BlockID: BlockSummary] {
        var found: [BlockID: BlockSummary] = [:]
        let blocks = root.appendingPathComponent("blocks")
        for shard in (try? FileSystem.contentsOfFolder(blocks.path)) ?? [] where shard != "packs" {
            let folder = blocks.appendingPathComponent(shard)
            let names = Set((try? FileSystem.contentsOfFolder(folder.path)) ?? [])
            // Temp files are writes that never finished; no one will finish them now.
            for name in names where name.hasPrefix(Self.tempPrefix) {
                FileSystem.removeQuietly(folder.appendingPathComponent(name).path)
            }
            for name in names where name.hasPrefix("blk_") {
                let file = folder.appendingPathComponent(name).path
                if name.hasSuffix(".crc") {
                    if !names.contains(String(name.dropLast(4))) { FileSystem.removeQuietly(file) }
                    continue
                }
                guard let raw = UInt64(name.dropFirst(4), radix: 16) else { continue }
                guard names.contains(name + ".crc") else {
                    FileSystem.removeQuietly(file)
                    continue
                }
                let blockID = BlockID(raw)
                let length = (try? FileSystem.status(file).size) ?? 0
                // A damaged checksum file still lists the block, with a checksum that cannot
                // match: the meta server then marks the replica corrupt.
                let checksum = (try? checksumsBlocking(of: blockID).blockChecksum) ?? 0
                found[blockID] = BlockSummary(blockID: blockID, length: length, checksum: checksum)
            }
        }
        return found
    }
}

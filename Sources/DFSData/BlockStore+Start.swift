import DFSCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What a start does before the node serves: the folders, the node id, and a scan that finds
/// every stored block and removes what unfinished writes left behind.
extension BlockStore {
    /// Makes `blocks/` and `blocks/packs/`, and removes the `tmp/` folder where versions
    /// before the shard folders wrote blocks: what is left there are writes that never
    /// finished, and no one will finish them now.
    static func prepareFolders(root: URL, named folder: String) throws {
        let manager = FileManager.default
        do {
            try manager.createDirectory(at: root.appendingPathComponent("blocks"), withIntermediateDirectories: true)
            if !manager.fileExists(atPath: root.appendingPathComponent("blocks/packs").path) {
                try manager.createDirectory(at: root.appendingPathComponent("blocks/packs"), withIntermediateDirectories: true)
                syncFolder(root.appendingPathComponent("blocks").path)
            }
            let legacyTemp = root.appendingPathComponent("tmp")
            if manager.fileExists(atPath: legacyTemp.path) { try manager.removeItem(at: legacyTemp) }
        } catch {
            throw DFSError(.ioError, "cannot use data folder \(folder): \(error.localizedDescription)")
        }
    }

    static func loadOrCreateNodeID(root: URL) throws -> NodeID {
        let file = root.appendingPathComponent("node-id")
        if let text = try? String(contentsOf: file, encoding: .utf8) {
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
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let bytes = Array((id.rawValue + "\n").utf8)
        let written = fd < 0 ? -1 : bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fd >= 0 && written == bytes.count && fsync(fd) == 0
        let reason = String(cString: strerror(errno))
        if fd >= 0 { close(fd) }
        guard synced, rename(temp, file.path) == 0 else {
            unlink(temp)
            throw DFSError(.ioError, "cannot write \(file.path): \(synced ? String(cString: strerror(errno)) : reason)")
        }
        syncFolder(root.path)
        return id
    }

    /// Finds every block file in the shard folders; run once at start. Temp files are removed.
    /// A block without its checksum file never finished being stored (the checksum file is
    /// renamed into place first) and is removed, as is a checksum file without its block.
    func scanBlockFiles() -> [BlockID: BlockSummary] {
        var found: [BlockID: BlockSummary] = [:]
        let blocks = root.appendingPathComponent("blocks")
        let manager = FileManager.default
        for shard in (try? manager.contentsOfDirectory(atPath: blocks.path)) ?? [] where shard != "packs" {
            let folder = blocks.appendingPathComponent(shard)
            let names = Set((try? manager.contentsOfDirectory(atPath: folder.path)) ?? [])
            // Temp files are writes that never finished; no one will finish them now.
            for name in names where name.hasPrefix(Self.tempPrefix) {
                unlink(folder.appendingPathComponent(name).path)
            }
            for name in names where name.hasPrefix("blk_") {
                let file = folder.appendingPathComponent(name).path
                if name.hasSuffix(".crc") {
                    if !names.contains(String(name.dropLast(4))) { unlink(file) }
                    continue
                }
                guard let raw = UInt64(name.dropFirst(4), radix: 16) else { continue }
                guard names.contains(name + ".crc") else {
                    unlink(file)
                    continue
                }
                let blockID = BlockID(raw)
                let attributes = try? manager.attributesOfItem(atPath: file)
                let length = (attributes?[.size] as? Int) ?? 0
                // A damaged checksum file still lists the block, with a checksum that cannot
                // match: the meta server then marks the replica corrupt.
                let checksum = (try? checksums(of: blockID).blockChecksum) ?? 0
                found[blockID] = BlockSummary(blockID: blockID, length: length, checksum: checksum)
            }
        }
        return found
    }
}

import CFuse
import DFSCore

#if canImport(Glibc)
    import Glibc
#endif

extension FuseOperations {
    /// open, create, read, write, flush, fsync, release.
    static func addFileOperations(_ operations: inout fuse_lowlevel_ops) {
        operations.open = { raw, inode, info in
            guard let raw, let info else { return }
            let request = FuseRequest(raw)
            let flags = info.pointee.flags
            let context = FuseContext.of(raw)
            context.serve(request, "open") { service in
                request.open(handle: try await service.open(inode, flags: flags, attributesChanged: context.attributesChanged), flags: flags)
            }
        }
        operations.create = { raw, parent, name, mode, info in
            guard let raw, let name, let info else { return }
            let request = FuseRequest(raw)
            let context = FuseContext.of(raw)
            let flags = info.pointee.flags
            let caller = FuseOperations.caller(raw)
            let path: DFSPath
            do { path = try context.service.path(of: name, in: parent) } catch { return request.fail(MountErrno.of(error)) }
            context.serve(request, "create") { service in
                let (attributes, handle) = try await service.create(path, flags: flags, mode: Int(mode), owner: caller)
                request.create(service.shown(attributes), handle: handle, flags: flags, timeouts: service.options.timeouts, owner: service.owner)
            }
        }
        operations.read = { raw, _, count, offset, info in
            guard let raw, let info else { return }
            let request = FuseRequest(raw)
            let handle = info.pointee.fh
            FuseContext.of(raw).serve(request, "read") { service in
                request.data(try await service.read(handle, at: Int(offset), count: count))
            }
        }
        operations.write = { raw, _, buffer, count, offset, info in
            guard let raw, let info else { return }
            let request = FuseRequest(raw)
            let handle = info.pointee.fh
            let context = FuseContext.of(raw)
            // libfuse reuses its receive buffer once this returns: a large write takes that
            // buffer from the reader, a small one is copied, within the bound on write data
            // in memory; then queued and answered at once; the room is given back once the
            // bytes are staged (see WriteHandle.WriteQueue).
            let units = context.takeWriteRoom(count)
            let source = UnsafeRawBufferPointer(start: buffer, count: buffer == nil ? 0 : count)
            let data = source.baseAddress.flatMap { context.receiveBuffers.take($0, count: count) } ?? WriteData(copying: source)
            do {
                try context.service.write(handle, data, at: Int(offset)) { context.releaseWriteRoom(units) }
                request.written(count)
            } catch {
                context.releaseWriteRoom(units)
                let errno = MountErrno.of(error)
                if errno == ENOSPC { Log.debug("mount", "write: \(error)") } else { Log.warn("mount", "write failed: \(DFSError.wrap(error).message)") }
                request.fail(errno)
            }
        }
        operations.flush = { raw, _, info in
            guard let raw, let info else { return }
            let request = FuseRequest(raw)
            let handle = info.pointee.fh
            FuseContext.of(raw).serve(request, "flush") { service in
                try await service.close(handle)
                request.ok()
            }
        }
        operations.fsync = { raw, _, _, info in
            guard let raw, let info else { return }
            let request = FuseRequest(raw)
            let handle = info.pointee.fh
            FuseContext.of(raw).serve(request, "fsync") { service in
                try await service.upload(handle)
                request.ok()
            }
        }
        operations.release = { raw, _, info in
            guard let raw, let info else { return }
            let request = FuseRequest(raw)
            let handle = info.pointee.fh
            FuseContext.of(raw).serve(request, "release") { service in
                await service.release(handle)
                request.ok()
            }
        }
    }
}

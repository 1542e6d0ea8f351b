import DFSCore

/// Frame payloads finished with, kept for later frames (at most `limit`: one per block in
/// flight, say). Filling memory the process has not touched costs a page fault
/// per page, several times the copy itself on some machines; a download that reuses its
/// buffers touches a few MiB of new memory instead of about a tenth of the file.
public final class PayloadBuffers: Sendable {
    private let spares: Mutex<[[UInt8]]>
    private let limit: Int

    public init(limit: Int) {
        self.limit = limit
        spares = Mutex([])
    }

    /// A spare payload, or nil when none is left (the reader then allocates one).
    public func take() -> [UInt8]? {
        spares.withLock { $0.popLast() }
    }

    /// `spare` made `count` bytes long when its capacity allows, else nil. Its bytes are
    /// left as they were (a longer array is padded with zeros) for the caller to overwrite.
    /// Were the array still shared, the caller's first write would copy it, so reuse is
    /// never visible to its other holder.
    public static func resized(_ spare: consuming [UInt8]?, to count: Int) -> [UInt8]? {
        guard var buffer = spare.take(), buffer.capacity >= count else { return nil }
        if buffer.count > count {
            buffer.removeLast(buffer.count - count)
        } else if buffer.count < count {
            buffer.append(contentsOf: repeatElement(0, count: count - buffer.count))
        }
        return buffer
    }

    /// Keeps `buffer` for a later frame, unless enough are kept already.
    public func give(_ buffer: consuming [UInt8]?) {
        guard let buffer else { return }
        spares.withLock { spares in
            if spares.count < limit { spares.append(buffer) }
        }
    }
}

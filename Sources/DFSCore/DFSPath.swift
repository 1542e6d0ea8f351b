/// A normalised absolute path inside the cluster: `/`, `/docs`, `/docs/a.pdf`.
///
/// Normalisation removes repeated and trailing slashes and makes the leading slash optional.
/// `.`, `..`, NUL, control characters and over-long paths or names are rejected, each with an
/// error that names the part that is wrong: a path is a name, never a way to walk.
///
/// A path is its UTF-8 bytes. It is split at every `/` byte, and compared, hashed and ordered
/// byte by byte, as SQLite compares the stored text and as a POSIX file system does. Swift's
/// `String` works on characters instead: it would keep `/` and a combining mark after it
/// (U+0301) as one character, not a separator, and it counts `é` and `e` + U+0301 as equal
/// though their bytes, and so their rows, differ.
public struct DFSPath: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    /// The path's names, root first. Empty for the root.
    public let components: [String]

    public static let root = DFSPath(validatedComponents: [])

    private init(validatedComponents: [String]) {
        components = validatedComponents
    }

    public init(_ text: String) throws(DFSError) {
        guard text.utf8.count <= Limits.pathBytesMax else {
            throw DFSError(.invalidPath, "path is \(text.utf8.count) bytes long; the limit is \(Limits.pathBytesMax)")
        }
        var names: [String] = []
        // Each part of valid UTF-8 cut at a '/' byte is valid UTF-8 too: the byte never
        // occurs inside a longer sequence.
        for part in text.utf8.split(separator: Self.slash, omittingEmptySubsequences: true) {
            let name = String(decoding: part, as: UTF8.self)
            if part.elementsEqual(".".utf8) || part.elementsEqual("..".utf8) {
                throw DFSError(.invalidPath, "path '\(DisplayText.escaped(text))' contains '\(name)'; use a path without '.' or '..' parts")
            }
            if part.count > Limits.nameBytesMax {
                throw DFSError(
                    .invalidPath,
                    "name '\(DisplayText.escaped(String(name.unicodeScalars.prefix(32))))...' in path is \(part.count) bytes; the limit is \(Limits.nameBytesMax)"
                )
            }
            if part.contains(where: { $0 < 0x20 || $0 == 0x7f }) {
                throw DFSError(.invalidPath, "name \"\(DisplayText.escaped(name))\" in path contains a NUL or control character")
            }
            names.append(name)
        }
        // The limit holds for the stored form too, which gains a leading '/' when the text had
        // none: a longer path could not be sent or decoded again.
        let storedBytes = names.reduce(0) { $0 + 1 + $1.utf8.count }
        guard storedBytes <= Limits.pathBytesMax else {
            throw DFSError(.invalidPath, "path is \(storedBytes) bytes long; the limit is \(Limits.pathBytesMax)")
        }
        components = names
    }

    private static let slash = UInt8(ascii: "/")

    public var isRoot: Bool { components.isEmpty }
    public var name: String { components.last ?? "/" }
    public var parent: DFSPath? {
        isRoot ? nil : DFSPath(validatedComponents: Array(components.dropLast()))
    }

    /// Every folder above this path, root excluded, outermost first: `/a/b/c` gives `/a`, `/a/b`.
    public var ancestors: [DFSPath] {
        guard components.count > 1 else { return [] }
        return (1..<components.count).map { DFSPath(validatedComponents: Array(components[..<$0])) }
    }

    /// True when this path is `folder` or lies anywhere under it, names compared byte by byte.
    public func isSelfOrDescendant(of folder: DFSPath) -> Bool {
        components.count >= folder.components.count
            && zip(components, folder.components).allSatisfy { $0.utf8.elementsEqual($1.utf8) }
    }

    public func appending(_ name: String) throws(DFSError) -> DFSPath {
        let child = try DFSPath(name)
        guard child.components.count == 1 else {
            throw DFSError(.invalidPath, "'\(DisplayText.escaped(name))' is not a single name")
        }
        // Validated again as a whole: the name alone fits the limits, the longer path may not.
        return try DFSPath(string + "/" + child.components[0])
    }

    /// Throws `invalidPath` when a name of this path holds a character that a new name may
    /// not: a C1 control character or a bidirectional control (``DisplayText/isMisleading(_:)``;
    /// C0 controls and DEL no path may hold at all). Such a name would make listings show
    /// another name than the stored one. Checked where something is created (a file, a
    /// folder, a move's target), not where a path only names what exists, so that a name an
    /// older version stored can still be listed, read, moved to a clean name and removed.
    public func validateForCreation() throws(DFSError) {
        for name in components {
            if let scalar = name.unicodeScalars.first(where: DisplayText.isMisleading) {
                throw DFSError(
                    .invalidPath,
                    "name '\(DisplayText.escaped(name))' contains \(DisplayText.codePoint(scalar)); a name may not hold control characters or bidirectional controls, which make listings show another name"
                )
            }
        }
    }

    /// The path as stored and sent: `/` and the names joined by `/`.
    public var string: String { "/" + components.joined(separator: "/") }
    /// The path escaped for printing (``DisplayText/escaped(_:)``): what messages and logs show.
    public var description: String { DisplayText.escaped(string) }

    public static func == (lhs: DFSPath, rhs: DFSPath) -> Bool {
        lhs.components.count == rhs.components.count
            && zip(lhs.components, rhs.components).allSatisfy { $0.utf8.elementsEqual($1.utf8) }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(components.count)
        for name in components {
            hasher.combine(name.utf8.count)
            // Native strings keep their UTF-8 in one buffer: hashed in one call.
            let hashed: Void? = name.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
            if hashed == nil {
                for byte in name.utf8 { hasher.combine(byte) }
            }
        }
    }

    /// Names compared in turn, each by its bytes: a folder comes right before what it holds.
    public static func < (lhs: DFSPath, rhs: DFSPath) -> Bool {
        lhs.components.lexicographicallyPrecedes(rhs.components) { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try DFSPath(text)
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(string)
    }
}

/// A normalised absolute path inside the cluster: `/`, `/docs`, `/docs/a.pdf`.
///
/// Normalisation removes repeated and trailing slashes and makes the leading slash optional.
/// `.`, `..`, NUL, control characters and over-long paths or names are rejected, each with an
/// error that names the part that is wrong: a path is a name, never a way to walk.
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
        for part in text.split(separator: "/", omittingEmptySubsequences: true) {
            let name = String(part)
            if name == "." || name == ".." {
                throw DFSError(.invalidPath, "path '\(text)' contains '\(name)'; use a path without '.' or '..' parts")
            }
            if name.utf8.count > Limits.nameBytesMax {
                throw DFSError(.invalidPath, "name '\(name.prefix(32))...' in path is \(name.utf8.count) bytes; the limit is \(Limits.nameBytesMax)")
            }
            if name.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) {
                throw DFSError(.invalidPath, "name \(name.debugDescription) in path contains a NUL or control character")
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

    public func appending(_ name: String) throws(DFSError) -> DFSPath {
        let child = try DFSPath(name)
        guard child.components.count == 1 else {
            throw DFSError(.invalidPath, "'\(name)' is not a single name")
        }
        // Validated again as a whole: the name alone fits the limits, the longer path may not.
        return try DFSPath(string + "/" + child.components[0])
    }

    public var string: String { "/" + components.joined(separator: "/") }
    public var description: String { string }

    public static func < (lhs: DFSPath, rhs: DFSPath) -> Bool { lhs.components.lexicographicallyPrecedes(rhs.components) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try DFSPath(text)
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(string)
    }
}

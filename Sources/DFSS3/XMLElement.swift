/// One element of a parsed XML document: its local name (any namespace prefix dropped), its
/// attributes in document order (`xmlns` declarations among them), its child elements, and
/// the character data directly inside it, with entities and references resolved.
///
/// S3's request bodies are plain data documents, so mixed content is not modelled: `text` is
/// every piece of character data of the element joined, the whitespace between children too.
public struct XMLElement: Sendable {
    public var name: String
    public var attributes: [(String, String)]
    public var children: [XMLElement]
    public var text: String

    public init(name: String, attributes: [(String, String)] = [], children: [XMLElement] = [], text: String = "") {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    /// The first child named `name`, or nil.
    public func child(_ name: String) -> XMLElement? {
        children.first { $0.name == name }
    }

    /// Every child named `name`, in order.
    public func children(_ name: String) -> [XMLElement] {
        children.filter { $0.name == name }
    }

    /// The value of the first attribute named `name` (as written, prefix included), or nil.
    public func attribute(_ name: String) -> String? {
        attributes.first { $0.0 == name }?.1
    }
}

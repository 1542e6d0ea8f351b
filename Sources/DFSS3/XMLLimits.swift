/// Bounds on an XML document the reader accepts. S3's request bodies are small: the largest,
/// CompleteMultipartUpload with 10,000 parts, is under 1.5 MiB even with every checksum.
public struct XMLLimits: Sendable, Equatable {
    /// The whole document. S3 itself refuses request bodies over 2 MiB for these operations.
    public var inputBytesMax: Int
    /// Elements open at once, the root counting as one. S3's bodies nest three deep.
    public var depthMax: Int
    /// Elements in the whole document: 10,000 parts of up to 7 elements fit.
    public var elementCountMax: Int
    /// One element or attribute name, prefix included, in bytes of UTF-8.
    public var nameBytesMax: Int
    /// Attributes on one element, `xmlns` declarations included.
    public var attributesPerElementMax: Int

    public init(
        inputBytesMax: Int = 2 * 1024 * 1024, depthMax: Int = 32, elementCountMax: Int = 100_000, nameBytesMax: Int = 256,
        attributesPerElementMax: Int = 32
    ) {
        self.inputBytesMax = inputBytesMax
        self.depthMax = depthMax
        self.elementCountMax = elementCountMax
        self.nameBytesMax = nameBytesMax
        self.attributesPerElementMax = attributesPerElementMax
    }
}

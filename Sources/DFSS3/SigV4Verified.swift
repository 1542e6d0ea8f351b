/// A request whose signature was checked.
public struct SigV4Verified: Sendable {
    public let accessKey: String
    public let payload: SigV4Payload
    /// For streaming payloads with signed chunks: what ``AWSChunkedDecoder`` needs to verify
    /// the chunk and trailer signatures. Nil otherwise.
    public let chunkSigning: ChunkSigning?

    public init(accessKey: String, payload: SigV4Payload, chunkSigning: ChunkSigning?) {
        self.accessKey = accessKey
        self.payload = payload
        self.chunkSigning = chunkSigning
    }
}

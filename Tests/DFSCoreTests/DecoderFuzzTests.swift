import DFSCore
import Foundation
import Testing

/// Generated and mutated frames through the decoder and every message decoder, in random
/// chunk sizes. Seeded from DFS_FUZZ_SEED when set; the seed is in every failure message.
@Suite struct DecoderFuzzTests {
    static let validFrames: [[UInt8]] = [
        #"{"type":"hello","body":{"protocolVersion":1,"role":"client","software":"dfs","nonce":"00112233445566778899aabbccddeeff"}}"#,
        #"{"type":"list","body":{"path":"/docs","after":"a","limit":10}}"#,
        #"{"type":"createFile","body":{"path":"/a/b","replication":3,"blockBytes":65536,"overwrite":true}}"#,
        #"{"type":"writeBlock","body":{"blockID":7,"length":4,"pipeline":[{"nodeID":"n1","address":{"host":"h","port":1}}]}}"#,
        #"{"type":"heartbeat","body":{"nodeID":"n1","capacityBytes":10,"usedBytes":1,"blockCount":1,"copiesInFlight":0,"added":[],"deleted":[2],"corrupt":[]}}"#,
        #"{"type":"blockData","payload":4,"body":{"checksums":[1]}}"#,
    ].map { json in
        let header = Array(json.utf8)
        let length = UInt32(header.count)
        let payload: [UInt8] = json.contains("blockData") ? [1, 2, 3, 4] : []
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + header + payload
    }

    @Test func randomAndMutatedFramesNeverCrashOrOverfillTheDecoder() throws {
        let seed = ProcessInfo.processInfo.environment["DFS_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        var random = SplitMix64(seed: seed)
        var framesDecoded = 0
        for round in 0..<3000 {
            var input: [UInt8]
            switch round % 3 {
            case 0:
                input = (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            case 1:
                input = Self.validFrames.randomElement(using: &random)!
                for _ in 0...Int.random(in: 0...5, using: &random) where !input.isEmpty {
                    input[Int.random(in: 0..<input.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            default:
                // Valid frames back to back, some cut short.
                input = (0..<Int.random(in: 1...4, using: &random)).flatMap { _ in Self.validFrames.randomElement(using: &random)! }
                input = Array(input.prefix(Int.random(in: 0...input.count, using: &random)))
            }
            var decoder = FrameDecoder()
            var offset = 0
            let chunk = Int.random(in: 1...64, using: &random)
            decoding: while offset < input.count {
                let end = min(input.count, offset + chunk)
                input[offset..<end].withUnsafeBytes { decoder.append($0) }
                offset = end
                #expect(decoder.bufferedBytes <= 4 + Limits.headerBytesMax + Limits.payloadBytesMax, "seed \(seed), round \(round)")
                while true {
                    let frame: Frame?
                    do {
                        frame = try decoder.nextFrame()
                    } catch {
                        // A broken stream is an error, after which a server closes the connection.
                        break decoding
                    }
                    guard let frame else { break }
                    framesDecoded += 1
                    for type in allMessageTypes { _ = try? frame.decode(type) }
                }
            }
        }
        #expect(framesDecoded > 500, "seed \(seed): the generator should produce many whole frames")
    }

    /// Every message type of the protocol has exactly one message in `allMessageTypes`.
    @Test func allMessageTypesCoversEveryTypeOnce() {
        let listed = allMessageTypes.map { $0.type }
        #expect(Set(listed) == Set(MessageType.allCases))
        #expect(listed.count == MessageType.allCases.count)
    }
}

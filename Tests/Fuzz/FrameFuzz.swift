// A libFuzzer target for the frame decoder and every message decoder. Built by `make fuzz`
// together with DFSCore's sources (not by Package.swift: libFuzzer brings its own main).
// Each input is cut into chunks as a socket would deliver it; every frame that comes out is
// decoded as each message type. Errors are expected; a crash, a trap or a buffer beyond the
// limits is a finding.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrames(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start, count > 0 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    // The first byte picks the chunk size, so the fuzzer explores split points too.
    let chunk = Int(input[0]) + 1
    var decoder = FrameDecoder()
    var offset = 1
    while offset < count {
        let end = min(count, offset + chunk)
        decoder.append(UnsafeRawBufferPointer(rebasing: input[offset..<end]))
        offset = end
        precondition(decoder.bufferedBytes <= 4 + Limits.headerBytesMax + Limits.payloadBytesMax + chunk, "decoder buffer beyond its limits")
        while true {
            guard let frame = try? decoder.nextFrame() else { break }
            for type in allMessageTypes { _ = try? frame.decode(type) }
            if let data = try? frame.decode(BlockData.self) { try? data.verify(Array(frame.payload), what: "fuzz input") }
        }
    }
    return 0
}

import DFSCore
import Testing

@Suite struct ByteSizeTests {
    @Test(arguments: [
        ("4096", 4096),
        ("0", 0),
        ("512KiB", 512 * 1024),
        ("1MiB", 1 << 20),
        ("64MiB", 64 << 20),
        ("1GiB", 1 << 30),
        ("2TiB", 2 << 40),
        ("10GB", 10_000_000_000),
        ("3KB", 3000),
        ("7MB", 7_000_000),
        ("1TB", 1_000_000_000_000),
        ("1k", 1024),
        ("1m", 1 << 20),
        ("1g", 1 << 30),
        ("1t", 1 << 40),
        ("5b", 5),
        ("0B", 0),
    ])
    func parsesSizes(text: String, bytes: Int) throws {
        #expect(try ByteSize.parse(text) == bytes)
    }

    @Test(arguments: ["64MiB", "64mib", "64MIB", "64Mib", "64M", "64m"])
    func ignoresCase(text: String) throws {
        #expect(try ByteSize.parse(text) == 64 << 20)
    }

    @Test(arguments: [" 64MiB", "64MiB ", "  64 MiB  ", "64\tMiB", "\n64MiB\n"])
    func ignoresWhitespace(text: String) throws {
        #expect(try ByteSize.parse(text) == 64 << 20)
    }

    @Test func distinguishesBinaryFromDecimalUnits() throws {
        #expect(try ByteSize.parse("1KiB") == 1024)
        #expect(try ByteSize.parse("1KB") == 1000)
        #expect(try ByteSize.parse("1GiB") - ByteSize.parse("1GB") == 73_741_824)
    }

    @Test(arguments: [
        "abc", "-1", "-1KiB", "1.5MiB", "", "   ", "MiB", "B", "1 2", "1MiBs", "1XiB", "0x10", "1e3", "KiB1",
        "\u{FF11}", "1,024",
    ])
    func rejectsTextThatIsNotASize(text: String) throws {
        let error = #expect(throws: DFSError.self) { try ByteSize.parse(text) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("'\(text)'") == true)
        #expect(error?.message.contains("64MiB") == true, "the message shows how to write a size")
    }

    @Test func acceptsLargestSizeThatFits() throws {
        #expect(try ByteSize.parse(String(Int.max)) == Int.max)
        // 2^23 TiB is 2^63 bytes, one more than Int holds.
        #expect(try ByteSize.parse("8388607TiB") == 8_388_607 << 40)
    }

    @Test(arguments: ["99999999999TiB", "8388608TiB", "9223372036854775807KiB", "99999999999999999999"])
    func rejectsSizeThatOverflows(text: String) throws {
        let error = #expect(throws: DFSError.self) { try ByteSize.parse(text) }
        #expect(error?.code == .invalidArgument)
    }

    @Test func overflowSaysTheSizeIsTooLarge() throws {
        let error = #expect(throws: DFSError.self) { try ByteSize.parse("99999999999TiB") }
        #expect(error?.message == "size '99999999999TiB' is too large")
    }

    @Test(arguments: [
        (0, "0 B"),
        (1, "1 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (64 << 20, "64.0 MiB"),
        (1 << 30, "1.0 GiB"),
        (3 << 40, "3.0 TiB"),
        (1 << 50, "1.0 PiB"),
        (2048 << 50, "2048.0 PiB"),
    ])
    func formatsForPeople(bytes: Int, text: String) {
        #expect(ByteSize.format(bytes) == text)
    }

    @Test func formatRoundsToTenths() {
        #expect(ByteSize.format(1024 + 100) == "1.1 KiB")
        #expect(ByteSize.format((10 << 20) + (1 << 20) / 8) == "10.1 MiB")
        #expect(ByteSize.format((10 << 20) + (1 << 20) * 7 / 8) == "10.9 MiB")
    }
}

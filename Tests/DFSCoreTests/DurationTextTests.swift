import DFSCore
import Testing

@Suite struct DurationTextTests {
    @Test(arguments: [
        ("500ms", Duration.milliseconds(500)),
        ("3s", .seconds(3)),
        ("2m", .seconds(120)),
        ("1h", .seconds(3600)),
        ("0.5s", .milliseconds(500)),
        ("1.5h", .seconds(5400)),
        ("0ms", .zero),
        ("0s", .zero),
        ("250ms", .milliseconds(250)),
        ("90s", .seconds(90)),
    ])
    func parsesDurations(text: String, duration: Duration) throws {
        #expect(try DurationText.parse(text) == duration)
    }

    @Test(arguments: ["3S", "3s", " 3s", "3s ", "\t3s\n"])
    func ignoresCaseAndSurroundingWhitespace(text: String) throws {
        #expect(try DurationText.parse(text) == .seconds(3))
    }

    @Test func millisecondsAreNotMinutes() throws {
        #expect(try DurationText.parse("5ms") == .milliseconds(5))
        #expect(try DurationText.parse("5MS") == .milliseconds(5))
        #expect(try DurationText.parse("5m") == .seconds(300))
    }

    @Test(arguments: ["3", "abc", "-1s", "-500ms", "", "s", "ms", "1d", "1w", "infs", "nans", "1e9s", "3 seconds"])
    func rejectsTextThatIsNotADuration(text: String) throws {
        let error = #expect(throws: DFSError.self) { try DurationText.parse(text) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("'\(text)'") == true)
        #expect(error?.message.contains("500ms") == true, "the message shows how to write a duration")
    }
}

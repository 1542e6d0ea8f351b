import Foundation
import Logging
import Testing

@testable import DFSCore

/// The log's lines: dfs's text format, level names and filtering, and JSON that a collector
/// reads back intact.
@Suite struct LogTests {
    /// 2026-11-24T20:58:11Z.
    static let fixedTime = Date(timeIntervalSince1970: 1_795_553_891)

    /// A logger whose handler writes into an array, at a fixed time.
    final class Capture: Sendable {
        let lines = Mutex<[String]>([])

        func logger(_ label: String = "meta", level: Log.Level? = nil, format: Log.Format) -> Logger {
            Logger(label: label) { label in
                DFSLogHandler(
                    label: label, level: level, format: format, metadataProvider: nil, now: { LogTests.fixedTime },
                    output: { bytes in self.lines.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } })
            }
        }

        var all: [String] { lines.withLock { $0 } }
    }

    static func parse(_ line: String) throws -> [String: String] {
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
        return try #require(object as? [String: String], "not an object of strings: \(line)")
    }

    @Test func textLineIsTimeComponentLevelAndMessage() {
        let line = LogLine(time: Self.fixedTime, level: .warn, component: "meta", message: "node 3 is silent")
        #expect(String(decoding: line.text(), as: UTF8.self) == "2026-11-24T20:58:11Z meta warn: node 3 is silent\n")
        let withFields = LogLine(time: Self.fixedTime, level: .info, component: "data", message: "m", metadata: ["peer": "b", "node": "a"])
        #expect(String(decoding: withFields.text(), as: UTF8.self) == "2026-11-24T20:58:11Z data info: m node=a peer=b\n")
    }

    @Test func handlerWritesTextThroughALogger() {
        let capture = Capture()
        capture.logger(level: .debug, format: .text).warning("node 3 is silent")
        #expect(capture.all == ["2026-11-24T20:58:11Z meta warn: node 3 is silent\n"])
    }

    @Test(arguments: [
        ("debug", Log.Level.debug), ("DEBUG", .debug), ("info", .info), ("warn", .warn), ("warning", .warn), ("Warning", .warn),
        ("error", .error), ("off", .off), ("none", .off), ("", .info), ("verbose", .info),
    ])
    func logVariableValuesAreParsed(text: String, level: Log.Level) {
        #expect(Log.Level(parsing: text) == level)
    }

    @Test func unsetLogVariableMeansInfo() {
        #expect(Log.Level(parsing: nil) == .info)
        #expect(Log.Format(parsing: nil) == .text)
        #expect(Log.Format(parsing: "JSON") == .json)
        #expect(Log.Format(parsing: "xml") == .text)
    }

    @Test func swiftLogLevelsMapOntoDFSNames() {
        let names = Logger.Level.allCases.map { Log.Level($0).name }
        #expect(names == ["debug", "debug", "info", "info", "warn", "error", "error"])
    }

    /// Each `DFS_LOG` value, and the swift-log levels whose lines it lets through.
    @Test(arguments: [
        ("debug", ["debug", "debug", "info", "info", "warn", "error", "error"]),
        ("info", ["info", "info", "warn", "error", "error"]),
        ("warn", ["warn", "error", "error"]),
        ("error", ["error", "error"]),
        ("off", []),
    ])
    func linesBelowTheLevelAreDropped(setting: String, printed: [String]) {
        let capture = Capture()
        let logger = capture.logger(level: Log.Level(parsing: setting), format: .text)
        for level in Logger.Level.allCases { logger.log(level: level, "line") }
        #expect(capture.all.map { $0.split(separator: " ")[2].dropLast() } == printed.map { Substring($0) })
    }

    @Test func droppedLineIsNeverBuilt() {
        let capture = Capture()
        let logger = capture.logger(level: .warn, format: .text)
        let built = Mutex(0)
        func expensive() -> String {
            built.withLock { $0 += 1 }
            return "built"
        }
        logger.info("\(expensive())")
        logger.debug("\(expensive())")
        #expect(built.withLock { $0 } == 0)
        #expect(capture.all.isEmpty)
    }

    @Test func levelSetOnTheLoggerIsRoundedToDFSLevels() {
        let capture = Capture()
        var logger = capture.logger(level: .error, format: .text)
        logger.logLevel = .notice
        logger.info("shown")
        logger.debug("hidden")
        #expect(logger.logLevel == .info)
        #expect(capture.all.count == 1)
    }

    @Test func jsonLineCarriesEscapedTextIntact() throws {
        let message = "quote \" backslash \\ newline\nreturn\r tab\t nul\0 bell\u{7} del\u{7F} \u{E9}t\u{E9} \u{1F600} \u{2028}"
        let line = LogLine(time: Self.fixedTime, level: .error, component: "da\"ta", message: message, metadata: ["path": "/a\nb"])
        let text = String(decoding: line.json(), as: UTF8.self)
        #expect(text.hasSuffix("}\n"))
        #expect(text.dropLast().contains("\n") == false, "one line: \(text)")
        let object = try Self.parse(text)
        #expect(object == ["time": "2026-11-24T20:58:11Z", "level": "error", "component": "da\"ta", "message": message, "path": "/a\nb"])
    }

    @Test func bytesThatWereNotUTF8StillMakeValidJSON() throws {
        let name = String(decoding: Array("caf".utf8) + [0xE9, 0xFF] + Array(".txt".utf8), as: UTF8.self)
        let text = String(decoding: LogLine(time: Self.fixedTime, level: .warn, component: "data", message: name).json(), as: UTF8.self)
        #expect(try Self.parse(text)["message"] == "caf\u{FFFD}\u{FFFD}.txt")
    }

    @Test func jsonKeysComeInAFixedOrder() {
        let line = LogLine(time: Self.fixedTime, level: .info, component: "meta", message: "m", metadata: ["z": "1", "a": "2"])
        #expect(
            String(decoding: line.json(), as: UTF8.self)
                == #"{"time":"2026-11-24T20:58:11Z","level":"info","component":"meta","message":"m","a":"2","z":"1"}"# + "\n")
    }

    @Test func metadataOfLoggerAndLineIsIncluded() throws {
        let capture = Capture()
        var logger = capture.logger("client", level: .debug, format: .json)
        logger[metadataKey: "node"] = "7"
        logger.warning("slow", metadata: ["bytes": .stringConvertible(4096), "message": "clash"])
        let object = try Self.parse(try #require(capture.all.first))
        #expect(object["node"] == "7")
        #expect(object["bytes"] == "4096")
        #expect(object["message"] == "slow")
        #expect(object["metadata.message"] == "clash", "a field never replaces one of the four")
        #expect(object["component"] == "client")
    }

    @Test func componentMetadataNamesTheComponent() throws {
        let capture = Capture()
        var logger = capture.logger("org.example.app", level: .debug, format: .json)
        logger[metadataKey: "component"] = "data"
        logger.error("disk full")
        let object = try Self.parse(try #require(capture.all.first))
        #expect(object["component"] == "data")
        #expect(object.count == 4)
        var text = capture.logger("org.example.app", level: .debug, format: .text)
        text[metadataKey: "component"] = "data"
        text.error("disk full")
        #expect(capture.all.last == "2026-11-24T20:58:11Z data error: disk full\n")
    }

    @Test func errorOfAnEventIsAField() throws {
        struct Broken: Error {}
        let capture = Capture()
        capture.logger(level: .debug, format: .json).error("failed", error: Broken())
        let object = try Self.parse(try #require(capture.all.first))
        #expect(object["error.message"] == "Broken()")
        #expect(object["error.type"]?.hasSuffix("Broken") == true)
    }

    @Test func messageWithNewlinesIsOneJSONLine() throws {
        let capture = Capture()
        capture.logger(level: .debug, format: .json).info("first\nsecond\r\nthird")
        let lines = capture.all
        #expect(lines.count == 1)
        #expect(lines[0].filter { $0 == "\n" }.count == 1)
        #expect(try Self.parse(lines[0])["message"] == "first\nsecond\r\nthird")
    }

    /// This test process bootstrapped nothing: dfs's components get dfs's handler, not
    /// swift-log's default, so their lines keep dfs's format and follow `DFS_LOG`.
    @Test func componentsUseDFSHandlerWhenNothingWasBootstrapped() {
        #expect(Log.logger(for: "meta").handler is DFSLogHandler)
        #expect(Log.logger(for: "meta").label == "meta")
        #expect(Log.isEnabled(.off) == false)
    }
}

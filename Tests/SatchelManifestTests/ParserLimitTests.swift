import Foundation
import Testing
@testable import SatchelManifest

/// The big hostile inputs, generated at test time and streamed, so the tests themselves stay small
/// in memory: the parser must refuse them before reading (much) more than its limit.
@Suite struct ParserLimitTests {
    static let open = #"<directory xmlns="urn:satchel:directory:1"><settings defaultAllowReplies="true"/>"#

    /// A lazily generated stream: `head`, then `count` repetitions of `unit`, then `tail`, in
    /// 64 KiB pieces. Counts what the parser pulled.
    final class Stream: @unchecked Sendable {
        private var pieces: [[UInt8]]
        private let unit: [UInt8]
        private var remaining: Int
        private let tail: [UInt8]
        private(set) var pulled = 0

        init(head: String, unit: String, count: Int, tail: String) {
            pieces = [Array(head.utf8)]
            self.unit = Array(unit.utf8)
            remaining = count
            self.tail = Array(tail.utf8)
        }

        func next() -> [UInt8]? {
            var chunk: [UInt8]
            if !pieces.isEmpty {
                chunk = pieces.removeFirst()
            } else if remaining > 0 {
                let n = min(remaining, max(1, (64 << 10) / unit.count))
                chunk = []
                chunk.reserveCapacity(n * unit.count)
                for _ in 0..<n { chunk.append(contentsOf: unit) }
                remaining -= n
                if remaining == 0 { pieces.append(tail) }
            } else {
                return nil
            }
            pulled += chunk.count
            return chunk
        }
    }

    func refusal(_ stream: Stream, limits: ParseLimits = .default) -> (ManifestError?, Duration) {
        let start = ContinuousClock.now
        let error = manifestError {
            _ = try ManifestReader.read(next: { stream.next() }, expecting: .directory, limits: limits)
        }
        return (error, ContinuousClock.now - start)
    }

    @Test func hundredThousandDeepNestingIsRefusedAtTheDepthLimit() {
        let stream = Stream(head: Self.open, unit: "<staff>", count: 100_000,
                            tail: String(repeating: "</staff>", count: 100_000) + "</directory>")
        let (error, elapsed) = refusal(stream)
        #expect(error?.code == .tooDeep)
        #expect(error?.line == 1 && error?.column != nil)
        #expect(stream.pulled <= 2 * (64 << 10), "stopped within the first pieces, pulled \(stream.pulled)")
        #expect(elapsed < .seconds(1))
    }

    @Test func sixtyFourMebibyteAttributeIsRefusedAtTheInputLimit() {
        let stream = Stream(head: Self.open + #"<staff id="s1" name=""#, unit: String(repeating: "A", count: 4096),
                            count: (64 << 20) / 4096, tail: #""/></directory>"#)
        let limits = ParseLimits.default
        let (error, elapsed) = refusal(stream, limits: limits)
        #expect(error?.code == .tooLarge)
        #expect(error?.line != nil)
        // libxml2 gives up on a tag longer than its 10,000,000-byte lookup limit even sooner.
        #expect(stream.pulled <= min(limits.maxInputBytes, 10_000_000) + (64 << 10), "pulled \(stream.pulled)")
        #expect(elapsed < .seconds(5))
    }

    @Test func longAttributeIsRefusedAtTheAttributeLimit() throws {
        let value = String(repeating: "B", count: 100_000)
        let input = Self.open + #"<staff id="s1" name="\#(value)"/></directory>"#
        let error = manifestError { _ = try ManifestReader.read(input.bytes) }
        #expect(error?.code == .attributeTooLong)
        #expect(error?.message.contains("name") == true)
        #expect(error?.description.contains("BBBB") == false)
    }

    @Test func manyAttributesAreRefused() {
        let attributes = (0..<10_000).map { " a\($0)=\"x\"" }.joined()
        let input = Self.open + "<staff id=\"s1\" name=\"n\"\(attributes)/></directory>"
        let error = manifestError { _ = try ManifestReader.read(input.bytes) }
        #expect(error?.code == .tooManyAttributes)
    }

    @Test func longTextIsRefusedAtTheTextLimit() {
        let stream = Stream(head: #"<directory xmlns="urn:satchel:directory:1"><settings defaultAllowReplies="true"><messageTemplate id="t" subject="s">"#,
                            unit: "All work and no play. ", count: 100_000,
                            tail: "</messageTemplate></settings></directory>")
        let (error, _) = refusal(stream)
        #expect(error?.code == .textTooLong)
        #expect(stream.pulled <= ParseLimits.default.maxTextLength + 2 * (64 << 10))
    }

    @Test func fortyMebibyteDocumentIsRefusedAtTheInputLimit() {
        let stream = Stream(head: Self.open, unit: #"<staff id="s1" name="Someone"/>"#, count: 1_400_000,
                            tail: "</directory>")
        let limits = ParseLimits(maxInputBytes: 4 << 20)
        let (error, _) = refusal(stream, limits: limits)
        #expect(error?.code == .tooLarge)
        #expect(stream.pulled <= limits.maxInputBytes + (64 << 10))
    }

    @Test func elementCountIsLimited() {
        let input = Self.open + String(repeating: #"<staff id="s" name="n"/>"#, count: 1000) + "</directory>"
        let error = manifestError {
            _ = try ManifestReader.read(input.bytes, limits: ParseLimits(maxElements: 100))
        }
        #expect(error?.code == .tooManyElements)
    }

    @Test func parseErrorsCarryLineAndColumn() {
        let input = "<directory xmlns=\"urn:satchel:directory:1\">\n  <settings defaultAllowReplies=\"true\">\n    <label key=\"a\" value=\"b\"></lable>\n"
        let error = manifestError { _ = try ManifestReader.read(input.bytes) }
        #expect(error?.code == .malformed)
        #expect(error?.line == 3)
        #expect((error?.column ?? 0) > 0)
    }

    @Test func emptyInputIsMalformed() {
        let error = manifestError { _ = try ManifestReader.read([UInt8]()) }
        #expect(error?.code == .malformed)
    }

    @Test func streamErrorsBecomeIOErrors() {
        struct Broken: Error {}
        var calls = 0
        let error = manifestError {
            _ = try ManifestReader.read(next: {
                calls += 1
                if calls > 1 { throw Broken() }
                return Array(Self.open.utf8)
            })
        }
        #expect(error?.code == .io)
    }

    @Test func fileReadsStreamFromDisk() throws {
        let path = Fixtures.root.appendingPathComponent("valid/directory.xml").path
        let root = try ManifestReader.read(fileAtPath: path, expecting: .directory)
        #expect(root.name == "directory")
        let missing = manifestError { _ = try ManifestReader.read(fileAtPath: "/nonexistent/satchel.xml") }
        #expect(missing?.code == .io)
    }

    @Test func commentsAreIgnoredAndCDATAIsText() throws {
        let input = #"<!-- exported by EHR --><directory xmlns="urn:satchel:directory:1"><settings defaultAllowReplies="true"><!-- x --><messageTemplate id="t" subject="s"><![CDATA[a <b> & c]]></messageTemplate></settings></directory>"#
        let directory = try Directory.importFile(input.bytes)
        #expect(directory.settings.messageTemplates.first?.body == "a <b> & c")
    }
}

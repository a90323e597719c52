import Testing
@testable import SatchelManifest

@Suite struct CanonicalWriterTests {
    func write(_ body: (CanonicalWriter) throws -> Void) throws -> String {
        var out: [UInt8] = []
        let writer = CanonicalWriter(namespace: "urn:satchel:test:1") { out.append(contentsOf: $0) }
        try body(writer)
        try writer.finish()
        return out.text
    }

    @Test func attributesAreSortedAndNilOnesOmitted() throws {
        let text = try write { w in
            try w.empty("root", [("zeta", "1"), ("alpha", "2"), ("missing", nil), ("Beta", "3")])
        }
        #expect(text == #"<root xmlns="urn:satchel:test:1" Beta="3" alpha="2" zeta="1"/>"#)
    }

    @Test func escapingFollowsCanonicalXML() throws {
        let text = try write { w in
            try w.textElement("root", [("a", "<&>\"'\t\n\r")], "<&>\"'\t\n\r]]>")
        }
        #expect(text == "<root xmlns=\"urn:satchel:test:1\" a=\"&lt;&amp;>&quot;'&#x9;&#xA;&#xD;\">&lt;&amp;&gt;\"'\t\n&#xD;]]&gt;</root>")
    }

    @Test func emptyElementsAndNesting() throws {
        let text = try write { w in
            try w.start("root")
            try w.textElement("empty", "")
            try w.start("parent", [("id", "1")])
            try w.empty("child")
            try w.end()
            try w.end()
        }
        #expect(text == #"<root xmlns="urn:satchel:test:1"><empty/><parent id="1"><child/></parent></root>"#)
    }

    @Test(arguments: ["\u{0}", "\u{1}", "\u{8}", "\u{B}", "\u{1F}", "\u{FFFE}", "\u{FFFF}"])
    func charactersXMLCannotCarryAreRefused(character: String) {
        let error = manifestError { _ = try write { w in try w.textElement("root", "a\(character)b") } }
        #expect(error?.code == .invalidValue)
        let attributeError = manifestError { _ = try write { w in try w.empty("root", [("a", character)]) } }
        #expect(attributeError?.code == .invalidValue)
    }

    /// 64 MiB of text streams through in pieces no larger than the buffer: nothing in the writer
    /// holds the whole text or the whole output.
    @Test func largeTextStreamsInBoundedPieces() throws {
        let piece = Array(String(repeating: "Body text & more <tags> ", count: 2731).utf8)  // ~64 KiB
        let pieces = (64 << 20) / piece.count
        var total = 0, largest = 0, ampersands = 0
        let writer = CanonicalWriter(namespace: "urn:satchel:test:1", bufferSize: 32 << 10) { chunk in
            total += chunk.count
            largest = max(largest, chunk.count)
            ampersands += chunk.reduce(0) { $0 + ($1 == 0x26 ? 1 : 0) }
        }
        try writer.start("root")
        try writer.text(utf8Chunks: (0..<pieces).lazy.map { _ in piece })
        try writer.end()
        try writer.finish()
        #expect(largest <= (32 << 10) + 64)
        // Every `&`, `<` and `>` became an entity (each starting with `&`).
        #expect(ampersands == pieces * 2731 * 3)
        #expect(total == writer.byteCount)
        #expect(total > 64 << 20)
    }

    @Test func chunkedTextMaySplitCharacters() throws {
        let text = "é漢🩺"
        let bytes = Array(text.utf8)
        for cut in 0...bytes.count {
            let out = try write { w in
                try w.start("r")
                try w.text(utf8Chunks: [Array(bytes[..<cut]), Array(bytes[cut...])])
                try w.end()
            }
            #expect(out == "<r xmlns=\"urn:satchel:test:1\">\(text)</r>")
        }
        let invalid = manifestError { _ = try write { w in
            try w.start("r")
            try w.text(utf8Chunks: [[0x61, 0xC3, 0x28]])
            try w.end()
        } }
        #expect(invalid?.code == .encoding)
    }

    @Test func sinkErrorsAbortEncoding() {
        struct Full: Error {}
        let config = StoreConfig(replica: "r1", role: .portal, created: Timestamp(millisecondsSinceEpoch: 0))
        let error = manifestError { try config.encode(into: { _ in throw Full() }) }
        #expect(error?.code == .io)
    }
}

@Suite struct TimestampTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)), ("2026-05-01T09:30:00Z", 1_777_627_800_000),
        ("2026-05-01T09:30:00.250Z", 1_777_627_800_250), ("1969-12-31T23:59:59.999Z", -1),
        ("0001-01-01T00:00:00Z", -62_135_596_800_000), ("9999-12-31T23:59:59.999Z", 253_402_300_799_999),
        ("2024-02-29T12:00:00Z", 1_709_208_000_000),
    ])
    func canonicalText(text: String, ms: Int64) {
        #expect(Timestamp(text)?.millisecondsSinceEpoch == ms)
        #expect(Timestamp(millisecondsSinceEpoch: ms).description == text)
    }

    @Test func shortFractionsReadButWriteThreeDigits() {
        #expect(Timestamp("2026-05-01T09:30:00.5Z")?.description == "2026-05-01T09:30:00.500Z")
        #expect(Timestamp("2026-05-01T09:30:00.05Z")?.description == "2026-05-01T09:30:00.050Z")
    }

    @Test(arguments: ["2026-05-01T09:30:00", "2026-05-01 09:30:00Z", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z",
                      "2026-05-01T24:00:00Z", "2026-05-01T09:30:00.1234Z", "2026-05-01T09:30:00+01:00",
                      "0000-01-01T00:00:00Z", "2023-02-29T00:00:00Z", ""])
    func invalidTextIsRefused(text: String) {
        #expect(Timestamp(text) == nil)
    }
}

@Suite struct VocabularyTests {
    @Test func namespacesAreVersioned() throws {
        #expect(Vocabulary.directory.namespace == "urn:satchel:directory:1")
        #expect(try Vocabulary.identify(namespace: "urn:satchel:thread:1") == .thread)
    }

    @Test func unknownVersionsAndForeignNamespacesAreRefused() {
        #expect(manifestError { _ = try Vocabulary.identify(namespace: "urn:satchel:thread:3") }?.code == .unknownVersion)
        #expect(manifestError { _ = try Vocabulary.identify(namespace: "urn:satchel:message:2") }?.code == .unknownVersion)
        #expect(manifestError { _ = try Vocabulary.identify(namespace: "urn:satchel:thread:01") }?.code == .unknownVersion)
        #expect(manifestError { _ = try Vocabulary.identify(namespace: "urn:satchel:spaceship:1") }?.code == .wrongNamespace)
        #expect(manifestError { _ = try Vocabulary.identify(namespace: nil) }?.code == .wrongNamespace)
        #expect(manifestError { _ = try Vocabulary.identify(namespace: "urn:satchel:message:1", expected: .thread) }?.code == .wrongNamespace)
    }

    @Test func aMessageIsNotAThread() throws {
        let bytes = try Fixtures.bytes("canonical/message.xml")
        let error = manifestError { _ = try ThreadManifest.decode(bytes) }
        #expect(error?.code == .wrongNamespace)
        #expect(error?.message.contains("expected a thread manifest") == true)
    }

    /// Privacy by construction: the patient-visible vocabularies have no place for Bcc.
    @Test func patientVisibleSchemasHaveNoBcc() throws {
        for vocabulary in [Vocabulary.message, .thread, .event] {
            let schema = try SchemaRegistry.resource(vocabulary).text
            #expect(!schema.lowercased().contains("name=\"bcc"))
        }
        var message = try MessageManifest.decode(try Fixtures.bytes("canonical/message.xml"))
        message.recipients = []
        var withBcc = try message.encoded().text
        withBcc = withBcc.replacingOccurrences(of: "<toStaff", with: "<bccStaff staff=\"s9\"/><toStaff")
        #expect(manifestError { _ = try MessageManifest.decode(withBcc.bytes) }?.code == .schema)
        #expect(manifestError { _ = try MessageManifest.decode(withBcc.bytes, trust: .trusted) }?.code == .unexpected)
    }
}

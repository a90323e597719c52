import Foundation
import Testing
@testable import SatchelManifest

@Suite struct ValidFixtureTests {
    static let samples: [(String, Vocabulary)] = [
        ("store", .store), ("directory", .directory), ("thread", .thread), ("thread-1", .thread),
        ("event", .event),
        ("message", .message), ("envelope", .envelope), ("draft", .draft),
        ("draft-tombstone", .draft), ("draftset", .draftSet),
        ("notification", .notification), ("bundle", .bundle), ("checkpoint", .checkpoint),
        ("token", .token),
        ("backup", .backup),
    ]

    @Test(arguments: samples.map(\.0))
    func validSampleDecodesAndMatchesCanonicalFile(name: String) throws {
        let input = try Fixtures.bytes("valid/\(name).xml")
        let manifest = try AnyManifest.decode(input, trust: .untrusted)
        let canonical = try Fixtures.bytes("canonical/\(name).xml")
        let encoded = try Self.encode(manifest)
        #expect(encoded.text == canonical.text)
        // Canonical bytes decode to the same value and re-encode to the same bytes.
        let again = try AnyManifest.decode(canonical, trust: .untrusted)
        #expect(again == manifest)
        #expect(try Self.encode(again) == canonical)
        // Trusted reads (no XSD pass) decode the same.
        #expect(try AnyManifest.decode(canonical, trust: .trusted) == manifest)
    }

    static func encode(_ manifest: AnyManifest) throws -> [UInt8] {
        switch manifest {
        case .store(let m): try m.encoded()
        case .directory(let m): try m.encoded()
        case .thread(let m): try m.encoded()
        case .event(let m): try m.encoded()
        case .message(let m): try m.encoded()
        case .envelope(let m): try m.encoded()
        case .draft(let m): try m.encoded()
        case .draftSet(let m): try m.encoded()
        case .notification(let m): try m.encoded()
        case .bundle(let m): try m.encoded()
        case .checkpoint(let m): try m.encoded()
        case .token(let m): try m.encoded()
        case .backup(let m): try m.encoded()
        }
    }

    /// `SATCHEL_REGENERATE_FIXTURES=1 swift test --filter regenerateCanonicalFixtures` rewrites
    /// fixtures/xml/canonical/ from fixtures/xml/valid/ (review the diff before committing).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SATCHEL_REGENERATE_FIXTURES"] == "1"))
    func regenerateCanonicalFixtures() throws {
        for (name, _) in Self.samples {
            let manifest = try AnyManifest.decode(try Fixtures.bytes("valid/\(name).xml"))
            try Data(try Self.encode(manifest))
                .write(to: Fixtures.root.appendingPathComponent("canonical/\(name).xml"))
        }
    }

    @Test func everySchemaCompiles() throws {
        for vocabulary in Vocabulary.allCases {
            _ = try SchemaRegistry.shared.schema(for: vocabulary)
        }
    }
}

import Foundation
import SatchelManifest
import SatchelTestSupport
import Testing
@testable import SatchelStore
@testable import SatchelSync

/// docs/FORMAT.md is checked against the code: it must stay complete as vocabularies,
/// capabilities and binary formats are added. The lists come from the code, never by hand.
@Suite struct FormatDocTests {
    static let formatPath = SourceTree.path("docs/FORMAT.md")

    static func document() throws -> String {
        let data = try #require(FileManager.default.contents(atPath: formatPath), "cannot read \(formatPath)")
        return String(decoding: data, as: UTF8.self)
    }

    static func lines() throws -> [Substring] {
        try document().split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// Every fenced code block is closed, and no block opens inside another (a fence with an
    /// info string where a closing fence is due means the previous block was left open).
    @Test func everyCodeFenceIsClosed() throws {
        var open: Int?
        for (index, line) in try Self.lines().enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("```") else { continue }
            if let start = open {
                #expect(trimmed == "```", "line \(index + 1): fence '\(trimmed)' inside the block opened on line \(start)")
                open = nil
            } else {
                open = index + 1
            }
        }
        #expect(open == nil, "the code block opened on line \(open ?? 0) is never closed")
    }

    /// Every namespace this build reads (`Vocabulary` × its readable versions) is documented
    /// under a heading of its own.
    @Test(arguments: Vocabulary.allCases.flatMap { v in v.readableVersions.map { v.namespace(version: $0) } })
    func vocabularyHasASection(_ namespace: String) throws {
        let headings = try Self.lines().filter { $0.hasPrefix("#") }
        #expect(headings.contains { $0.contains("`\(namespace)`") }, "FORMAT.md has no heading naming `\(namespace)`")
    }

    /// Every bundle capability a reader accepts is named in FORMAT.md.
    @Test(arguments: BundleFile.capabilities.sorted())
    func capabilityIsDocumented(_ capability: String) throws {
        #expect(try Self.document().contains("`\(capability)`"), "FORMAT.md does not name capability `\(capability)`")
    }

    /// The magic numbers of the binary formats (packs, pack indexes, bundles) are in FORMAT.md.
    @Test(arguments: [PackFormat.packMagic, PackFormat.indexMagic, BundleFile.magic])
    func magicIsDocumented(_ magic: [UInt8]) throws {
        let text = String(decoding: magic, as: UTF8.self)
        #expect(try Self.document().contains(text), "FORMAT.md does not name the magic \(text)")
    }

    /// The bundle format version this build writes is the one FORMAT.md gives.
    @Test func bundleVersionIsDocumented() throws {
        #expect(try Self.document().contains("format version = \(BundleFile.version)"))
    }
}

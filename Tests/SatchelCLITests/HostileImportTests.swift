import Foundation
import SatchelTestSupport
import Testing

/// Every hostile fixture fed to `satchel directory import` is refused with exit 65, one line on
/// stderr, and the store stays byte-for-byte what it was.
@Suite struct HostileImportTests {
    static let root = SourceTree.root

    static let fixtures: [String] = {
        let dir = root.appendingPathComponent("fixtures/xml/hostile").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".xml") }.sorted()
    }()

    @Test func hostileFixturesAreRefusedAndChangeNothing() throws {
        #expect(Self.fixtures.count >= 20)
        let scratch = Scratch()
        let store = scratch.path + "/s"
        try CLI.run("init", store, "--role", "workstation")
        // A good directory first, so "unchanged" means the old one is still current.
        let good = Self.root.appendingPathComponent("fixtures/xml/valid/directory.xml").path
        #expect(try CLI.run("directory", "import", good, "--store", store).status == 0)
        let before = scratch.snapshot(store)
        for name in Self.fixtures {
            let path = Self.root.appendingPathComponent("fixtures/xml/hostile/" + name).path
            let result = try CLI.run("directory", "import", path, "--store", store)
            #expect(result.status == 65, "\(name): exit \(result.status), \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(name): \(result.stderr)")
            #expect(scratch.snapshot(store).filter { !$0.key.hasPrefix("tmp/") } == before.filter { !$0.key.hasPrefix("tmp/") },
                    "\(name) changed the store")
        }
    }
}

import Foundation
import SatchelMessaging
import SatchelSync
import Testing

// BEGIN README embed
/// Applies a bundle a workstation dropped off, then answers with one for it.
func exchange(portalStore: String, incoming: String, reply: String) throws -> Int {
    let portal = try Repository.open(at: portalStore)
    let sync = SyncEngine(portal)
    let applied = try sync.applyBundle(incoming)        // all-or-nothing, idempotent
    let header = try sync.verifyBundle(incoming).header // who sent it
    _ = try sync.createBundle(for: header.source, to: reply)
    return applied.applied + applied.fastForwarded + applied.merged
}
// END README embed

@Suite struct EmbeddingExampleTests {
    @Test func readmeSnippetIsThisCode() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let snippet = try #require(readme.components(separatedBy: "```swift embed\n").last?.components(separatedBy: "```").first)
        let code = try #require(source.components(separatedBy: "// BEGIN README embed\n").last?.components(separatedBy: "// END README embed").first)
        let readmeBody = snippet.components(separatedBy: "\n").filter { !$0.hasPrefix("import ") }.joined(separator: "\n")
        #expect(readmeBody.trimmingCharacters(in: .whitespacesAndNewlines) == code.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func readmeSnippetWorks() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        _ = try compose(laptop)
        let incoming = clinic.bundlePath(), reply = clinic.bundlePath()
        _ = try SyncEngine(laptop).createBundle(for: portal.replica, to: incoming)
        #expect(try exchange(portalStore: portal.store.root, incoming: incoming, reply: reply) == 1)
        #expect(try SyncEngine(laptop).applyBundle(reply).unchanged == 1)
    }
}

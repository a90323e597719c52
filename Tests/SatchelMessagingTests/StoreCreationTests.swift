import Foundation
import SatchelMessaging
import SatchelStore
import SatchelTestSupport
import Testing

/// Where `Repository.create` may make a store: an absent path (parents made, like `git init`), an
/// empty directory, or a symlink to one (a store on another volume); never over anything else,
/// and a failure leaves what was there as it was.
@Suite struct StoreCreationTests {
    @Test func absentEmptyAndSymlinkedEmptyDirectoriesTakeAStore() throws {
        let dir = TemporaryDirectory()
        _ = try Repository.create(at: dir.path("a/b/new"), role: .workstation)
        try FileManager.default.createDirectory(atPath: dir.path("empty"), withIntermediateDirectories: false)
        _ = try Repository.create(at: dir.path("empty"), role: .portal)
        try FileManager.default.createDirectory(atPath: dir.path("volume"), withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: dir.path("link"), withDestinationPath: dir.path("volume"))
        let linked = try Repository.create(at: dir.path("link"), role: .workstation)
        #expect(try Repository.open(at: dir.path("volume")).replica == linked.replica)
        #expect(try LocalFiles.entry(dir.path("link")) == .other)  // still the symlink
        // A parent that is a symlink to a directory is fine too.
        try FileManager.default.createDirectory(atPath: dir.path("home"), withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: dir.path("stores"), withDestinationPath: dir.path("home"))
        _ = try Repository.create(at: dir.path("stores/laptop"), role: .workstation)
        _ = try Repository.create(at: dir.path("stores/more/portal"), role: .portal)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path("home")).sorted() == ["laptop", "more"])
    }

    @Test func anythingElseIsRefusedAndLeftAsItWas() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.path("full"), withIntermediateDirectories: false)
        try Data([1]).write(to: URL(fileURLWithPath: dir.path("full/keep")))
        try Data([2]).write(to: URL(fileURLWithPath: dir.path("file")))
        for path in [dir.path("full"), dir.path("file")] {
            #expect { _ = try Repository.create(at: path, role: .workstation) } throws: { ($0 as? StoreError)?.code == .exists }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path("full")) == ["keep"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.path("file"))) == Data([2]))
    }
}

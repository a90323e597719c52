import Foundation
import SatchelStore
import SatchelTestSupport
import Testing

/// The file-system helpers the layers above the store use instead of Foundation.
@Suite struct LocalFilesTests {
    @Test func entriesAreTellApartWithoutFollowingSymlinks() throws {
        let dir = TemporaryDirectory()
        try LocalFiles.createDirectory(dir.path("a/b/c"))
        try LocalFiles.createDirectory(dir.path("a/b/c"))  // exists: fine
        #expect(try LocalFiles.entry(dir.path("a/b/c")) == .emptyDirectory)
        #expect(try LocalFiles.entry(dir.path("a")) == .directory)
        #expect(try LocalFiles.entry(dir.path("none")) == .absent)
        try Data([1]).write(to: URL(fileURLWithPath: dir.path("file")))
        #expect(try LocalFiles.entry(dir.path("file")) == .other)
        try FileManager.default.createSymbolicLink(atPath: dir.path("link"), withDestinationPath: dir.path("a"))
        #expect(try LocalFiles.entry(dir.path("link")) == .other)
        try FileManager.default.createSymbolicLink(atPath: dir.path("dangling"), withDestinationPath: dir.path("nowhere"))
        #expect(try LocalFiles.entry(dir.path("dangling")) == .other)
        #expect { try LocalFiles.createDirectory(dir.path("file")) } throws: { ($0 as? StoreError)?.code == .exists }
        #expect { try LocalFiles.createDirectory(dir.path("file/x")) } throws: { $0 is StoreError }
        #expect(try LocalFiles.list(dir.path("missing")) == [])
        #expect(try LocalFiles.list(dir.path).sorted() == ["a", "dangling", "file", "link"])
    }

    /// A tree is removed whole, but a symlink inside it is removed as a link: what it points to
    /// stays.
    @Test func removeTreeNeverFollowsASymlink() throws {
        let dir = TemporaryDirectory()
        try LocalFiles.createDirectory(dir.path("keep/inner"))
        try Data([7]).write(to: URL(fileURLWithPath: dir.path("keep/inner/precious")))
        try LocalFiles.createDirectory(dir.path("tree/x/y"))
        try Data([1]).write(to: URL(fileURLWithPath: dir.path("tree/x/y/f")))
        try FileManager.default.createSymbolicLink(atPath: dir.path("tree/x/link"), withDestinationPath: dir.path("keep"))
        try LocalFiles.removeTree(dir.path("tree"))
        try LocalFiles.removeTree(dir.path("tree"))  // missing: fine
        #expect(try LocalFiles.entry(dir.path("tree")) == .absent)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.path("keep/inner/precious"))) == Data([7]))
        try FileManager.default.createSymbolicLink(atPath: dir.path("top"), withDestinationPath: dir.path("keep"))
        try LocalFiles.removeTree(dir.path("top"))
        #expect(try LocalFiles.entry(dir.path("top")) == .absent)
        #expect(try LocalFiles.entry(dir.path("keep/inner")) == .directory)
    }

    @Test func uniquePathsDiffer() {
        let paths = Set((0..<1000).map { _ in LocalFiles.uniquePath(in: "/d", prefix: "p-", suffix: ".s") })
        #expect(paths.count == 1000)
        #expect(paths.allSatisfy { $0.hasPrefix("/d/p-") && $0.hasSuffix(".s") && $0.count == 5 + 32 + 2 })
    }
}

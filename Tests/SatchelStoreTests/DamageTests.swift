import Foundation
import SatchelTestSupport
import Testing
@testable import SatchelStore

/// A flipped bit, a truncated file and an object under the wrong name are each caught by read
/// and by fsck, for loose and packed objects.
@Suite struct DamageTests {
    enum Content: CaseIterable { case text, random }

    func payload(_ content: Content) -> [UInt8] {
        content == .text ? textBytes(50_000, seed: 11) : randomBytes(50_000, seed: 12)
    }

    @Test(arguments: Content.allCases)
    func flippedBitInLooseObject(_ content: Content) throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let id = try store.put(.blob, payload(content))
        let path = store.loose.path(of: id)
        try flipBit(in: path, at: fileSize(path) / 2)
        #expect { try store.read(id) } throws: { ($0 as? StoreError)?.isDamage == true }
        let report = try store.fsck()
        #expect(report.problems.count == 1)
        #expect(report.problems.first?.object == id.description)
        #expect(["corrupt", "wrong-name"].contains(report.problems.first?.kind ?? ""))
    }

    @Test(arguments: Content.allCases)
    func truncatedLooseObject(_ content: Content) throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let id = try store.put(.blob, payload(content))
        let path = store.loose.path(of: id)
        try truncate(path, to: fileSize(path) - 100)
        #expect { try store.read(id) } throws: { ($0 as? StoreError)?.code == .truncated }
        let report = try store.fsck()
        #expect(report.problems.map(\.kind) == ["truncated"])
    }

    @Test func objectStoredUnderTheWrongName() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let a = try store.put(.blob, Array("first object, long enough to be compressed by zlib at all".utf8))
        let b = ObjectID.compute(kind: .blob, payload: Array("second".utf8))
        let wrong = store.loose.path(of: b)
        try FileManager.default.createDirectory(atPath: FileIO.parent(of: wrong), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: store.loose.path(of: a), toPath: wrong)
        #expect { try store.read(b) } throws: { ($0 as? StoreError)?.code == .corrupt }
        #expect(try store.read(a).bytes.count > 0)
        let report = try store.fsck()
        #expect(report.problems.map(\.kind) == ["wrong-name"])
        #expect(report.problems.first?.object == b.description)
    }

    @Test func damagedExistingObjectIsReplacedOnPut() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let bytes = payload(.text)
        let id = try store.put(.blob, bytes)
        try flipBit(in: store.loose.path(of: id), at: 40)
        #expect(try store.put(.blob, bytes) == id)  // verified, not trusted: rewritten
        #expect(try store.read(id).bytes == bytes)
        #expect(try store.fsck().isClean)
    }

    func packedStore(_ dir: TempDirectory) throws -> (ObjectStore, [ObjectID], PackFile) {
        let store = try dir.makeStore()
        let batch = try store.batch()
        var ids: [ObjectID] = []
        for i in 0..<20 { ids.append(try batch.put(.blob, i % 2 == 0 ? textBytes(3000, seed: UInt64(i)) : randomBytes(3000, seed: UInt64(i)))) }
        try batch.commit(layout: .pack)
        return (store, ids, store.packSet.packs[0])
    }

    @Test func flippedBitInPackedObject() throws {
        let dir = TempDirectory()
        let (store, ids, pack) = try packedStore(dir)
        let victim = ids[7]
        let location = pack.index.entry(for: victim)!
        try flipBit(in: pack.packPath, at: Int(location.offset) + Int(location.size) / 2)
        #expect { try store.read(victim) } throws: { ($0 as? StoreError)?.isDamage == true }
        #expect(try store.read(ids[8]).bytes.count == 3000)  // neighbours still read
        let report = try store.fsck()
        #expect(report.problems.contains { $0.object == victim.description })
        #expect(report.problems.contains { $0.kind == "pack" })  // pack checksum fails too
    }

    @Test func truncatedPack() throws {
        let dir = TempDirectory()
        let (store, ids, pack) = try packedStore(dir)
        try truncate(pack.packPath, to: fileSize(pack.packPath) / 2)
        #expect { try store.read(ids.last!) } throws: { ($0 as? StoreError)?.isDamage == true }
        let report = try store.fsck()
        #expect(report.problems.contains { $0.kind == "pack" })
        #expect(report.problems.contains { $0.kind == "truncated" || $0.kind == "corrupt" })
    }

    @Test func damagedPackIndex() throws {
        let dir = TempDirectory()
        let (store, ids, pack) = try packedStore(dir)
        try flipBit(in: pack.indexPath, at: PackFormat.headerSize + PackFormat.fanoutSize + 40)
        let reopened = try ObjectStore(root: store.root)
        #expect { try reopened.read(ids[0]) } throws: { ($0 as? StoreError)?.code == .notFound }
        let report = try reopened.fsck()
        #expect(report.problems.contains { $0.kind == "pack-index" })
    }

    @Test func danglingRefAndMissingMention() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let blob = try store.put(.blob, Array("attachment".utf8))
        let manifest = try store.put(.manifest, Array("<m ref=\"\(blob)\"/>".utf8))
        try store.refs.update(RefName("threads/t1"), from: nil, to: manifest)
        #expect(try store.fsck().isClean)
        try FileManager.default.removeItem(atPath: store.loose.path(of: blob))
        let missing = ObjectID.compute(kind: .manifest, payload: Array("gone".utf8))
        try store.refs.update(RefName("threads/t2"), from: nil, to: missing)
        let kinds = try store.fsck().problems.map(\.kind).sorted()
        #expect(kinds == ["dangling-ref", "missing-object"])
    }

    @Test func strayFilesAreReported() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        try Sys.mkdir(store.objectsDirectory + "/ab")
        _ = FileManager.default.createFile(atPath: store.objectsDirectory + "/ab/not-an-id", contents: Data([1]))
        _ = FileManager.default.createFile(atPath: store.packsDirectory + "/pack-x.pack", contents: Data([1]))
        // A pack without an index is a leftover of an interrupted writer, not damage (#12).
        let kinds = try store.fsck().problems.map(\.kind).sorted()
        #expect(kinds == ["bad-file"])
    }
}

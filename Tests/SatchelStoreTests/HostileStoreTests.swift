import Foundation
import SatchelTestSupport
import Testing
@testable import SatchelStore

/// Issue #12: damaged or lying bytes on disk never trap the process, never read as "missing",
/// and never turn into a deletion.
@Suite struct HostileStoreTests {
    func age(_ path: String, by seconds: Double) throws {
        try Sys.setModified(path, secondsSinceEpoch: Sys.now() - seconds)
    }

    /// A thread → message → (body, attachment) chain, every file aged past the grace period.
    func chain(_ store: ObjectStore) throws -> (thread: ObjectID, message: ObjectID, body: ObjectID, attachment: ObjectID) {
        let body = try store.put(.blob, textBytes(5000, seed: 11))
        let attachment = try store.put(.blob, randomBytes(9000, seed: 12))
        let message = try store.put(.manifest, Array("<message body=\"\(body)\"><a id=\"\(attachment)\"/></message>".utf8))
        let thread = try store.put(.manifest, Array("<thread><m id=\"\(message)\"/></thread>".utf8))
        try store.refs.update(RefName("threads/t1"), from: nil, to: thread)
        for id in [body, attachment, message, thread] { try age(store.loose.path(of: id), by: 7200) }
        return (thread, message, body, attachment)
    }

    @Test func gcStopsOnADamagedManifestAndRemovesNothing() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let ids = try chain(store)
        let garbage = try store.put(.blob, textBytes(3000, seed: 13))
        try age(store.loose.path(of: garbage), by: 7200)
        let path = store.loose.path(of: ids.message)
        try flipBit(in: path, at: fileSize(path) - 3)

        #expect {
            try store.gc(grace: 3600)
        } throws: { error in
            guard let error = error as? StoreError else { return false }
            return error.isDamage && error.object == ids.message && error.message.contains(ids.message.description)
        }
        for id in [ids.body, ids.attachment, garbage] { #expect(try store.read(id).bytes.count > 0) }
    }

    @Test func gcStopsOnAnUnreadablePackIndex() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let ids = try chain(store)
        // The message manifest lives only in a pack whose index is damaged.
        let manifest = try store.read(ids.message).bytes
        try FileManager.default.removeItem(atPath: store.loose.path(of: ids.message))
        let batch = try store.batch()
        _ = try batch.put(.manifest, manifest)
        try batch.commit(layout: .pack)
        store.packSet.refresh()
        let index = try #require(store.packSet.packs.first).indexPath
        try flipBit(in: index, at: 40)
        let reopened = try ObjectStore(root: store.root)
        #expect(throws: StoreError.self) { try reopened.gc(grace: 3600) }
        for id in [ids.body, ids.attachment] { #expect(try reopened.read(id).bytes.count > 0) }
    }

    @Test func damagedLooseObjectReadsAsDamagedNotMissing() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let id = try store.put(.blob, textBytes(5000, seed: 14))
        let path = store.loose.path(of: id)
        try Data([0x78, 0x01, 0x02]).write(to: URL(fileURLWithPath: path))
        for call in [{ _ = try store.info(id) }, { _ = try store.read(id) }] as [() throws -> Void] {
            #expect { try call() } throws: { error in
                guard let error = error as? StoreError else { return false }
                return error.code != .notFound
            }
        }
    }

    /// Rewrites a pack's index with `change` applied to its entries, with a valid checksum.
    /// Rewrites a pack's index with `change` applied to its entries, with a valid checksum;
    /// returns the store opened afresh (a process that finds the forged index).
    func forgeIndex(_ store: ObjectStore, _ change: (inout [PackEntryLocation]) -> Void) throws -> ObjectStore {
        store.packSet.refresh()
        let pack = try #require(store.packSet.packs.first)
        var entries = pack.index.allEntries
        change(&entries)
        let bytes = PackIndex.encode(entries: entries, packChecksum: pack.index.packChecksum)
        try? FileManager.default.removeItem(atPath: pack.indexPath)
        try Data(bytes).write(to: URL(fileURLWithPath: pack.indexPath))
        return try ObjectStore(root: store.root)
    }

    func packedStore(_ dir: TempDirectory) throws -> (ObjectStore, [ObjectID]) {
        let store = try dir.makeStore()
        let batch = try store.batch()
        var ids: [ObjectID] = []
        for i in 0..<3 { ids.append(try batch.put(.blob, textBytes(2000, seed: UInt64(20 + i)))) }
        try batch.commit(layout: .pack)
        return (store, ids)
    }

    @Test(arguments: [UInt64(1) << 63, UInt64.max, UInt64(1) << 62, UInt64(1) << 40])
    func packIndexWithImpossibleOffsetIsReportedNotTrapped(_ value: UInt64) throws {
        let dir = TempDirectory()
        let (packed, ids) = try packedStore(dir)
        let store = try forgeIndex(packed) { $0[0].offset = value }
        #expect(store.packSet.packs.isEmpty)
        let report = try store.fsck()
        #expect(report.problems.contains { $0.kind == "pack-index" && $0.detail.contains("offset") })
        for id in ids { #expect(throws: StoreError.self) { try store.read(id) } }
        #expect(throws: StoreError.self) { try store.gc(grace: 0) }
    }

    @Test(arguments: [UInt64(1) << 63, UInt64.max, UInt64.max - 20])
    func packIndexWithImpossibleSizeIsReportedNotTrapped(_ value: UInt64) throws {
        let dir = TempDirectory()
        let (packed, _) = try packedStore(dir)
        let store = try forgeIndex(packed) { $0[1].size = value }
        let report = try store.fsck()
        #expect(report.problems.contains { $0.kind == "pack-index" })
    }

    @Test func changeLogAtTheLastSequenceRefusesCleanlyAndFsckReportsIt() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let id = try store.put(.blob, textBytes(100, seed: 30))
        try store.refs.update(RefName("threads/a"), from: nil, to: id)
        let log = store.refs.changeLog.path
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("\(UInt64.max) threads/a \(id)\n".utf8))
        try handle.close()

        #expect { try store.refs.update(RefName("threads/b"), from: nil, to: id) } throws: { error in
            guard let error = error as? StoreError else { return false }
            return error.code == .corrupt && error.message.contains("change log")
        }
        #expect(try store.refs.read(RefName("threads/b")) == nil)
        let report = try store.fsck()
        #expect(report.problems.contains { $0.kind == "change-log" })
    }

    @Test func bundlePackZlibEntryIsRefusedBeforeInflating() throws {
        // A stored-only pack stream with one zlib entry: refused at the entry header.
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let batch = try store.batch()
        _ = try batch.put(.blob, textBytes(50_000, seed: 31))  // compressible: written as zlib
        try batch.commit(layout: .pack)
        store.packSet.refresh()
        let pack = try #require(store.packSet.packs.first)
        let fd = try FileIO.openRead(pack.packPath)
        defer { try? fd.close() }
        let size = Int64(try Sys.status(fd).size)
        let storedOnly = PackStreamReader(fd: fd, offset: 0, end: size, encodings: .storedOnly)
        #expect { _ = try storedOnly.next() } throws: { error in
            (error as? StoreError)?.message.contains("stored entries only") == true
        }
        let any = PackStreamReader(fd: fd, offset: 0, end: size)
        #expect(try any.next() != nil)
    }

    @Test func inflationIsBoundedByTheDeclaredLength() throws {
        // A zlib entry that declares 1,000 bytes but inflates to 10 MB is refused after at most
        // one buffer of output, without growing memory.
        var pack = PackFormat.header(magic: PackFormat.packMagic)
        let payload = [UInt8](repeating: 0x41, count: 10 << 20)
        let compressed = try payload.withUnsafeBytes { try Deflater(level: 6).compressAll($0) }
        pack += PackFormat.entryHeader(kind: .blob, compressed: true, length: 1000)
        pack += compressed
        PackFormat.appendUInt64(&pack, 1)
        pack += [UInt8](repeating: 0, count: 32)
        let reader = PackStreamReader(source: BufferSource(pack), length: Int64(pack.count))
        #expect(try reader.next()?.length == 1000)
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var total = 0
        #expect(throws: StoreError.self) {
            while true {
                let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
                if n == 0 { break }
                total += n
            }
        }
        #expect(total == 1000)
    }
}

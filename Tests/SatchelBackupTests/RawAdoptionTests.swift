import Foundation
import SatchelBackup
import SatchelMessaging
@testable import SatchelStore
import SatchelTestSupport
import Testing

/// A restore adopts the archive's zlib entries as they are: the restored store holds the very
/// entry bytes the backed-up store held (never inflated and deflated again), and reads them back.
@Suite struct RawAdoptionTests {
    static func entry(_ id: ObjectID, in store: ObjectStore) throws -> [UInt8] {
        store.packSet.refresh()
        let pack = try #require(store.packSet.locate(id).first)
        return try pack.rawEntry(try #require(pack.index.entry(for: id)))
    }

    /// Stores `bytes` as a packed blob deflated at level 9 (the store's own level is 1), so that
    /// its entry differs from what any re-encoding by a store would write.
    static func putAtLevel9(_ bytes: [UInt8], into store: ObjectStore) throws -> ObjectID {
        var policy = CompressionPolicy()
        policy.level = 9
        let batch = try ObjectStore(root: store.root, compression: policy).batch()
        let id = try batch.put(.blob, bytes)
        try batch.commit(layout: .pack)
        return id
    }

    @Test(arguments: [false, true])
    func aRestoredStoreHoldsTheArchivedEntriesAsTheyWere(encrypted: Bool) throws {
        let ws = Workspace()
        let laptop = try ws.store("laptop")
        let text = textBytes(5 << 20, seed: 12)  // past a batch's 4 MiB: packed, zlib-encoded
        let notes = ws.path("notes.txt")
        try Data(text).write(to: URL(fileURLWithPath: notes))
        let blob = try Self.putAtLevel9(text, into: laptop.store)
        try compose(laptop, subject: "Notes", attachments: [notes])  // finds the blob stored
        let original = try Self.entry(blob, in: laptop.store)
        #expect(original[1] == PackFormat.encodingZlib)
        // What re-deflating would give differs: the test can tell adoption from re-encoding.
        #expect(Array(original[10...]) != (try text.withUnsafeBytes { try Deflater(level: 1).compressAll($0) }))

        let archive = ws.path("full.backup")
        let passphrase = encrypted ? try Passphrase(string: "pw") : nil
        try Backup.create(laptop, to: archive, options: try fastOptions(passphrase: encrypted ? "pw" : nil))
        try Backup.restore(archive, to: ws.path("restored"), passphrase: passphrase)
        let restored = try Repository.open(at: ws.path("restored"))
        #expect(try Self.entry(blob, in: restored.store) == original)
        #expect(try restored.store.read(blob, limit: 8 << 20).bytes == text)
        #expect(try fsckClean(restored))
    }
}

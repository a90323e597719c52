import Foundation
import SatchelManifest
import SatchelMessaging
@testable import SatchelStore
import SatchelTestSupport
import Testing
@testable import SatchelSync

/// Bundle format 2 compresses header and pack as one stream (docs/FORMAT.md, "Bundles").
@Suite struct BundleSizeTests {
    /// The objects a bundle carries, re-packed with each entry compressed on its own (the store's
    /// policy, as bundle format 1 did): the size the shared stream is measured against.
    static func individuallyCompressedPackSize(_ bundle: String, store: ObjectStore) throws -> (bytes: UInt64, objects: Int) {
        let opened = try BundleFile.open(bundle)
        defer { opened.close() }
        let reader = opened.packReader()
        let pack = try store.detachedPack()
        defer { pack.abandon() }
        while let entry = try reader.next() {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = try chunk.withUnsafeMutableBytes { try reader.read(into: $0) }
                if n == 0 { break }
                bytes += chunk[0..<n]
            }
            try pack.put(entry.kind, bytes)
        }
        try reader.finish()
        try opened.finish()
        let (path, bytes, objects) = try pack.sealDetached()
        try? FileManager.default.removeItem(atPath: path)
        return (bytes, objects)
    }

    static func size(_ path: String) throws -> UInt64 {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value ?? 0
    }

    @Test func similarThreadsShareOneCompressionStream() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        for i in 0..<200 {
            _ = try compose(laptop, patient: i % 2 == 0 ? "p1" : "p2", subject: "Flu clinic \(i % 7)",
                            body: "Flu shots are available this week. Reminder number \(i).")
        }
        let path = clinic.bundlePath()
        let summary = try SyncEngine(laptop).createBundle(for: portal.replica, to: path)
        #expect(summary.threads == 200)
        let separate = try Self.individuallyCompressedPackSize(path, store: laptop.store)
        #expect(separate.objects == summary.objects)
        let bundle = try Self.size(path)
        #expect(bundle == summary.bytes)
        #expect(Double(bundle) < 0.5 * Double(separate.bytes), "bundle \(bundle) B vs \(separate.bytes) B compressed one by one")
        // And it still applies.
        let result = try SyncEngine(portal).applyBundle(path)
        #expect(result.applied == 200)
        #expect(try Clinic.heads(portal) == Clinic.heads(laptop))
    }

    @Test func incompressibleAttachmentTravelsStored() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        var generator = SystemRandomNumberGenerator()
        let payload = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let file = clinic.root + "/scan.bin"
        try Data(payload).write(to: URL(fileURLWithPath: file))
        _ = try Self.send(laptop, attaching: file)
        let path = clinic.bundlePath()
        _ = try SyncEngine(laptop).createBundle(for: portal.replica, to: path)
        let bundle = try Self.size(path)
        // 1 MiB stored plus the manifests and a few bytes of stored-block framing (5 B per 64 KiB).
        #expect(bundle >= 1 << 20)
        #expect(bundle < (1 << 20) + 8 * 1024, "bundle is \(bundle) B")
        _ = try SyncEngine(portal).applyBundle(path)
        #expect(try Clinic.heads(portal) == Clinic.heads(laptop))
    }

    /// A large compressible attachment travels at the store's level (1) in the streamed bundle
    /// and arrives byte for byte; the bundle is written without a temporary pack.
    @Test func aLargeTextAttachmentStreamsIntoTheBundleAndArrivesIntact() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        let payload = textBytes(3 << 20, seed: 31)
        let file = clinic.root + "/notes.txt"
        try Data(payload).write(to: URL(fileURLWithPath: file))
        let sent = try Self.send(laptop, attaching: file)
        let path = clinic.bundlePath()
        _ = try SyncEngine(laptop).createBundle(for: portal.replica, to: path)
        #expect(try Self.size(path) < UInt64(payload.count) / 2, "a text attachment is compressed in the bundle")
        #expect(try FileManager.default.contentsOfDirectory(atPath: laptop.store.root + "/tmp").isEmpty)
        _ = try SyncEngine(portal).applyBundle(path)
        let attachment = try portal.attachment(thread: sent.thread, message: sent.message, name: "notes.txt")
        let out = clinic.root + "/fetched.txt"
        try portal.exportAttachment(attachment, to: out)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: out))) == payload)
    }

    /// A packed text attachment travels as the store holds it and is adopted as it came: the
    /// sender's whole pack entry (header and zlib stream) is in the bundle's pack as it is, the
    /// bundle declares `zlib-blobs-1`, and the receiver's pack holds exactly the same entry
    /// bytes (never inflated and deflated again), which read back as the attachment.
    @Test func aPackedTextAttachmentTravelsAndIsAdoptedAsTheStoreHoldsIt() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        let payload = textBytes(6 << 20, seed: 41)  // past a batch's 4 MiB: it goes into a pack
        let file = clinic.root + "/notes.txt"
        try Data(payload).write(to: URL(fileURLWithPath: file))
        // Packed at level 9 (the store's own level is 1): what re-deflating would give differs,
        // so the receiver's entry tells adoption from re-encoding.
        var policy = CompressionPolicy()
        policy.level = 9
        let level9 = try ObjectStore(root: laptop.store.root, compression: policy).batch()
        try level9.put(.blob, payload)
        try level9.commit(layout: .pack)
        let sent = try Self.send(laptop, attaching: file)
        let blob = try laptop.attachment(thread: sent.thread, message: sent.message, name: "notes.txt").object
        let entry = try Self.packEntry(blob, in: laptop.store)
        #expect(entry[1] == PackFormat.encodingZlib)
        #expect(Array(entry[10...]) != (try payload.withUnsafeBytes { try Deflater(level: 1).compressAll($0) }))

        let path = clinic.bundlePath()
        _ = try SyncEngine(laptop).createBundle(for: portal.replica, to: path)
        let opened = try BundleFile.open(path)
        #expect(opened.header.capabilities.contains(BundleFile.zlibBlobs))
        let packPath = clinic.root + "/bundle.pack"
        try opened.copyPack(to: packPath)
        opened.close()
        #expect(Self.contains(Array(try Data(contentsOf: URL(fileURLWithPath: packPath))), entry),
                "the sender's entry is in the bundle's pack as it is")

        _ = try SyncEngine(portal).applyBundle(path)
        #expect(try Self.packEntry(blob, in: portal.store) == entry, "the receiver adopted the entry as it came")
        let attachment = try portal.attachment(thread: sent.thread, message: sent.message, name: "notes.txt")
        let out = clinic.root + "/fetched.txt"
        try portal.exportAttachment(attachment, to: out)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: out))) == payload)
        #expect(try portal.store.fsck().isClean)
    }

    /// The whole raw entry (header and encoded payload) of `id` in `store`'s packs.
    static func packEntry(_ id: ObjectID, in store: ObjectStore) throws -> [UInt8] {
        store.packSet.refresh()
        let pack = try #require(store.packSet.locate(id).first)
        return try pack.rawEntry(try #require(pack.index.entry(for: id)))
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool { find(needle, in: haystack) != nil }

    /// Where `needle` first stands in `haystack`.
    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard let first = needle.first, needle.count <= haystack.count else { return nil }
        var index = 0
        while index + needle.count <= haystack.count {
            if haystack[index] == first && haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    /// An object that is damaged in the sending store fails the bundle as it streams: no bundle
    /// file appears, nothing is left next to it, and the error names the damage.
    @Test func aDamagedObjectFailsTheBundleAndLeavesNoFile() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        let body = String(decoding: textBytes(20_000, seed: 5), as: UTF8.self)
        let sent = try compose(laptop, body: body)
        let message = try laptop.load(MessageManifest.self, try #require(laptop.thread(sent.thread).thread.messages.first?.object))
        let hex = message.body.object.hex
        let objectFile = laptop.store.root + "/objects/" + hex.prefix(2) + "/" + hex.dropFirst(2)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: objectFile)))
        bytes[bytes.count - 10] ^= 0x40
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: objectFile)
        try Data(bytes).write(to: URL(fileURLWithPath: objectFile))
        let path = clinic.bundlePath()
        #expect(throws: StoreError.self) { try SyncEngine(laptop).createBundle(for: portal.replica, to: path) }
        #expect(!FileManager.default.fileExists(atPath: path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: clinic.root).filter { $0.hasSuffix(".satchel-tmp") }
        #expect(leftovers.isEmpty)
    }

    /// A one-patient send with `file` attached.
    static func send(_ repository: Repository, attaching file: String) throws -> SentThread {
        var request = ComposeRequest(author: "s1")
        request.patient = "p1"
        request.subject = "Attachment"
        request.body = .text("Attached.")
        request.attachments = [.file(path: file)]
        return try repository.send(request).threads[0]
    }
}

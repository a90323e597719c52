import Crypto
import Foundation
import SatchelManifest
import SatchelMessaging
@testable import SatchelStore
import SatchelTestSupport
import Testing
@testable import SatchelSync

/// Bundles whose pack holds a large blob as the sender's store holds it (a zlib entry,
/// capability `zlib-blobs-1`), adopted as it came by the receiver: every lie about such an entry
/// is refused and changes nothing, even with the pack's and the file's checksums made right.
@Suite struct ZlibBlobTests {
    /// A laptop that sent one thread with a 4.5 MiB text attachment (packed, zlib-encoded), a
    /// portal, and a bundle for the portal taken apart: its header and its inflated pack.
    struct Setup {
        let clinic = Clinic()
        let laptop: Repository
        let portal: Repository
        let header: BundleHeader
        let pack: [UInt8]
        /// Offset and bytes of the blob's entry in `pack`.
        let entryOffset: Int
        let entry: [UInt8]

        init() throws {
            laptop = try clinic.store("laptop", .workstation)
            portal = try clinic.store("portal", .portal)
            let file = clinic.root + "/notes.txt"
            try Data(textBytes(4_500_000, seed: 77)).write(to: URL(fileURLWithPath: file))
            let sent = try BundleSizeTests.send(laptop, attaching: file)
            let blob = try laptop.attachment(thread: sent.thread, message: sent.message, name: "notes.txt").object
            entry = try BundleSizeTests.packEntry(blob, in: laptop.store)
            let path = clinic.bundlePath()
            _ = try SyncEngine(laptop).createBundle(for: portal.replica, to: path)
            let opened = try BundleFile.open(path)
            header = opened.header
            let packPath = clinic.bundlePath("pack")
            try opened.copyPack(to: packPath)
            opened.close()
            pack = Array(try Data(contentsOf: URL(fileURLWithPath: packPath)))
            entryOffset = try #require(BundleSizeTests.find(entry, in: pack))
        }

        /// A bundle of `header` and `pack` (its trailer recomputed), with a valid file checksum.
        func bundle(_ header: BundleHeader, _ pack: [UInt8]) throws -> String {
            var pack = pack
            let body = pack.count - 32
            pack.replaceSubrange(body..., with: Array(SHA256.hash(data: pack[0..<body])))
            let path = clinic.bundlePath()
            _ = try BundleFile.writeFile(header: header, packLength: UInt64(pack.count), to: path, mode: .ephemeral) { sink in
                try sink.write(pack)
            }
            return path
        }

        /// Applies `path` on the portal: it must be refused as bad input and change nothing.
        func expectRefused(_ path: String, _ why: String, sourceLocation: SourceLocation = #_sourceLocation) {
            let before = Clinic.snapshot(portal)
            #expect(sourceLocation: sourceLocation) { try SyncEngine(portal).applyBundle(path) } throws: { error in
                (error as? SyncError)?.code == .badInput && (why.isEmpty || "\(error)".contains(why))
            }
            #expect(Clinic.snapshot(portal) == before, sourceLocation: sourceLocation)
        }
    }

    /// The untouched pieces make a bundle the portal takes (so the refusals below are about
    /// the lies, not about the crafting).
    @Test func theReassembledBundleIsAccepted() throws {
        let setup = try Setup()
        #expect(setup.header.capabilities.contains(BundleFile.zlibBlobs))
        let result = try SyncEngine(setup.portal).applyBundle(try setup.bundle(setup.header, setup.pack))
        #expect(result.threads == 1)
        #expect(try BundleSizeTests.packEntry(ObjectID.compute(kind: .blob, payload: textBytes(4_500_000, seed: 77)),
                                              in: setup.portal.store) == setup.entry)
    }

    /// Bytes flipped all through the adopted entry's zlib stream (and its header's length),
    /// with both checksums made right again: refused, nothing changes.
    @Test func flipsInsideAnAdoptedEntryAreRefusedAndChangeNothing() throws {
        let setup = try Setup()
        let start = setup.entryOffset, count = setup.entry.count
        var offsets = [start + 2, start + 9, start + 10, start + 11, start + count - 1, start + count - 4]
        var rng = SplitMix64(seed: 9)
        for _ in 0..<24 { offsets.append(start + 10 + rng.below(count - 10)) }
        for offset in offsets {
            var pack = setup.pack
            pack[offset] ^= 0x10
            setup.expectRefused(try setup.bundle(setup.header, pack), "")
        }
    }

    /// Without `zlib-blobs-1` a bundle's pack holds stored entries only.
    @Test func aZlibEntryWithoutTheCapabilityIsRefused() throws {
        let setup = try Setup()
        var header = setup.header
        header.capabilities.removeAll { $0 == BundleFile.zlibBlobs }
        setup.expectRefused(try setup.bundle(header, setup.pack), "stored entries only")
    }

    /// Even with `zlib-blobs-1`, a manifest travels stored: one made a zlib entry is refused.
    @Test func aZlibManifestEntryIsRefused() throws {
        let setup = try Setup()
        // The first entry after the pack header that is not the blob is a stored manifest.
        var offset = 16
        if offset == setup.entryOffset { offset += setup.entry.count }
        let pack = setup.pack
        #expect(pack[offset] == ObjectKind.manifest.rawValue && pack[offset + 1] == PackFormat.encodingStored)
        let length = Int(pack[(offset + 2)..<(offset + 10)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        let payload = Array(pack[(offset + 10)..<(offset + 10 + length)])
        let compressed = try payload.withUnsafeBytes { try Deflater(level: 6).compressAll($0) }
        var forged = Array(pack[..<offset])
        forged += PackFormat.entryHeader(kind: .manifest, compressed: true, length: UInt64(length)) + compressed
        forged += pack[(offset + 10 + length)...]
        setup.expectRefused(try setup.bundle(setup.header, forged), "zlib for blobs only")
    }

    /// An entry that declares far more than the bundle could honestly inflate to (nested
    /// compression) is refused at its header, before anything is inflated.
    @Test func anEntryDeclaringMoreThanTheBundleCanHoldIsRefusedAtItsHeader() throws {
        let setup = try Setup()
        var pack = setup.pack
        var length: [UInt8] = []
        BigEndian.append(&length, UInt64(1) << 40)
        pack.replaceSubrange((setup.entryOffset + 2)..<(setup.entryOffset + 10), with: length)
        setup.expectRefused(try setup.bundle(setup.header, pack), "more than this input can honestly hold")
    }
}

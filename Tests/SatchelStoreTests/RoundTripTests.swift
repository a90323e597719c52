import Foundation
import SatchelTestSupport
import Testing
@testable import SatchelStore

@Suite struct RoundTripTests {
    @Test(arguments: [0, 1, 63, 64, 100, 4096, 300_000])
    func looseRoundTrip(size: Int) throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        for bytes in [textBytes(size, seed: 1), randomBytes(size, seed: 2)] {
            let id = try store.put(.blob, bytes)
            #expect(id == ObjectID.compute(kind: .blob, payload: bytes))
            let back = try store.read(id)
            #expect(back.kind == .blob)
            #expect(back.bytes == bytes)
            #expect(try store.info(id).length == UInt64(size))
        }
        #expect(try store.fsck().isClean)
    }

    @Test func compressibleTextIsDeflatedAndRandomBytesAreStored() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let text = textBytes(100_000, seed: 3)
        let random = randomBytes(100_000, seed: 4)
        let textID = try store.put(.blob, text)
        let randomID = try store.put(.blob, random)
        let textFile = try Data(contentsOf: URL(fileURLWithPath: store.loose.path(of: textID)))
        let randomFile = try Data(contentsOf: URL(fileURLWithPath: store.loose.path(of: randomID)))
        #expect(textFile.first == LooseObjects.zlibFirstByte)
        #expect(textFile.count < text.count / 2)
        #expect(randomFile.first == LooseObjects.storedFlag)
        #expect(randomFile.count == 1 + "blob 100000\0".utf8.count + random.count)
    }

    @Test func alreadyCompressedFormatsSkipDeflate() {
        var jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0]
        jpeg += [UInt8](repeating: 0x41, count: 4000)  // compressible, but a JPEG: not worth trying
        let scratch = Deflater()
        let decided = jpeg.withUnsafeBytes {
            CompressionPolicy().shouldCompress(sample: $0, totalLength: UInt64(jpeg.count), scratch: scratch)
        }
        #expect(decided == false)
    }

    @Test func largePayloadStreamsBothWays() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let length: UInt64 = 48 << 20
        for pattern in [GeneratedSource.Pattern.random(seed: 9), .text(seed: 10)] {
            var source = GeneratedSource(length: length, pattern: pattern)
            let id = try store.put(.blob, length: length, from: &source)
            // Recompute the expected ID from a second generated stream, never holding it.
            var expected = ObjectHasher(kind: .blob, length: length)
            var again = GeneratedSource(length: length, pattern: pattern)
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = try chunk.withUnsafeMutableBytes { try again.read(into: $0) }
                if n == 0 { break }
                chunk.withUnsafeBytes { expected.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
            #expect(id == expected.finalize())
            var digest = ObjectHasher(kind: .blob, length: length)
            let info = try store.read(id) { digest.update($0) }
            #expect(info.length == length)
            #expect(digest.finalize() == id)
            #expect(throws: StoreError.self) { try store.read(id, limit: 1 << 20) }
        }
    }

    @Test func sourceShorterOrLongerThanDeclaredIsRefused() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        var short = BufferSource([1, 2, 3])
        #expect(throws: StoreError.self) { try store.put(.blob, length: 4, from: &short) }
        var long = BufferSource([1, 2, 3, 4, 5])
        #expect(throws: StoreError.self) { try store.put(.blob, length: 4, from: &long) }
        #expect(try store.allObjectIDs().isEmpty)
        #expect(try Sys.list(store.tempDirectory).isEmpty)
    }

    @Test func sameContentIsOneObject() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let bytes = textBytes(10_000, seed: 5)
        let a = try store.put(.blob, bytes)
        let b = try store.put(.blob, bytes)
        var source = BufferSource(bytes)
        let c = try store.put(.blob, length: UInt64(bytes.count), from: &source)
        #expect(a == b && b == c)
        #expect(try store.allObjectIDs().count == 1)
        let batch = try store.batch()
        #expect(try batch.put(.blob, bytes) == a)
        #expect(batch.reused == 1)
        #expect(try batch.commit(layout: .pack) == nil)
        #expect(try store.stats().packs == 0)
    }

    @Test func batchWritesOnePackAndDedupsWithinIt() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let batch = try store.batch()
        var ids: [ObjectID] = []
        for i in 0..<500 {
            ids.append(try batch.put(i % 2 == 0 ? .blob : .manifest, textBytes(2048, seed: UInt64(i))))
        }
        _ = try batch.put(.blob, textBytes(2048, seed: 0))  // duplicate of the first
        var big = GeneratedSource(length: 3 << 20, pattern: .random(seed: 77))
        ids.append(try batch.put(.blob, length: 3 << 20, from: &big))
        var bigAgain = GeneratedSource(length: 3 << 20, pattern: .random(seed: 77))
        _ = try batch.put(.blob, length: 3 << 20, from: &bigAgain)  // streamed duplicate: rewound
        #expect(!store.contains(ids[0]))  // not visible before commit
        let info = try #require(try batch.commit(layout: .pack))
        #expect(info.objects == 501)
        #expect(batch.added == 501 && batch.reused == 2)
        let stats = try store.stats()
        #expect(stats.packs == 1 && stats.looseObjects == 0 && stats.objects == 501)
        for (i, id) in ids.prefix(500).enumerated() {
            let back = try store.read(id)
            #expect(back.bytes == textBytes(2048, seed: UInt64(i)))
            #expect(back.kind == (i % 2 == 0 ? .blob : .manifest))
        }
        let report = try store.fsck()
        #expect(report.isClean, "\(report.problems)")
        #expect(report.objects == 501)
    }

    @Test func abandonedBatchLeavesNothing() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        do {
            let batch = try store.batch()
            try batch.put(.blob, textBytes(5000, seed: 1))
            batch.abandon()
        }
        do {
            let batch = try store.batch()
            try batch.put(.blob, textBytes(5000, seed: 2))
            // dropped without commit
        }
        #expect(try store.allObjectIDs().isEmpty)
        #expect(try Sys.list(store.tempDirectory).isEmpty)
        #expect(try Sys.list(store.packsDirectory).isEmpty)
    }

    @Test func exportWritesOnlyVerifiedContent() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let bytes = randomBytes(200_000, seed: 8)
        let id = try store.put(.blob, bytes)
        let out = dir.path + "/out.bin"
        try store.export(id, to: out)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(bytes))
        try flipBit(in: store.loose.path(of: id), at: 5000)
        let out2 = dir.path + "/out2.bin"
        #expect(throws: StoreError.self) { try store.export(id, to: out2) }
        #expect(!FileManager.default.fileExists(atPath: out2))
    }
}

@Suite struct BatchLayoutTests {
    @Test func smallBatchesBecomeLooseObjectsNotTinyPacks() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let batch = try store.batch()
        let ids = try (0..<5).map { try batch.put(.manifest, textBytes(700, seed: UInt64($0))) }
        #expect(try batch.commit() == nil)
        let stats = try store.stats()
        #expect(stats.packs == 0 && stats.looseObjects == 5)
        for (i, id) in ids.enumerated() { #expect(try store.read(id).bytes == textBytes(700, seed: UInt64(i))) }
        #expect(try Sys.list(store.tempDirectory).isEmpty)
    }

    @Test func aSmallStreamedBlobGoesLooseAndALyingSourceWritesNothing() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let batch = try store.batch()
        var source = BufferSource(textBytes(3000, seed: 7))
        let id = try batch.put(.blob, length: 3000, from: &source)
        #expect(try batch.commit() == nil)
        #expect(try store.read(id).bytes == textBytes(3000, seed: 7))
        #expect(try store.stats().packs == 0)

        // A source longer than it says: refused, and the batch publishes nothing.
        let before = try store.stats()
        let lying = try store.batch()
        var longer = BufferSource(textBytes(3001, seed: 8))
        #expect(throws: StoreError.self) { try lying.put(.blob, length: 3000, from: &longer) }
        lying.abandon()
        let after = try store.stats()
        #expect(after.objects == before.objects && after.bytes == before.bytes && after.packs == before.packs)
        #expect(try Sys.list(store.tempDirectory).isEmpty)
    }

    @Test func outgrowingMemoryMovesEverythingIntoOnePack() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let batch = try store.batch()
        let small = try (0..<3).map { try batch.put(.manifest, textBytes(500, seed: UInt64($0))) }
        let big = textBytes(Int(ObjectBatch.looseByteLimit) + 1, seed: 99)
        var source = BufferSource(big)
        let bigID = try batch.put(.blob, length: UInt64(big.count), from: &source)
        #expect(batch.contains(small[0]) && batch.contains(bigID))
        #expect(try batch.commit()?.objects == 4)
        let stats = try store.stats()
        #expect(stats.looseObjects == 0 && stats.packs == 1)
        for (i, id) in small.enumerated() { #expect(try store.read(id).bytes == textBytes(500, seed: UInt64(i))) }
        #expect(try store.read(bigID, limit: big.count).bytes == big)
    }

    @Test func objectsTheStoreHoldsAreNotWrittenAgain() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let first = try store.batch()
        let id = try first.put(.manifest, textBytes(900, seed: 1))
        try first.commit()
        let again = try store.batch()
        #expect(try again.put(.manifest, textBytes(900, seed: 1)) == id)
        #expect(try again.put(.manifest, textBytes(900, seed: 1)) == id)
        #expect(again.added == 0 && again.reused == 2)
        #expect(try again.commit() == nil)
        #expect(try store.stats().looseObjects == 1)
    }

    @Test func objectsAndRefsCommitTogetherAndARefusedTransactionPublishesNothing() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let name = try RefName("threads/T-1")
        let batch = try store.batch()
        let first = try batch.put(.manifest, textBytes(800, seed: 1))
        let second = try batch.put(.blob, textBytes(300, seed: 2))
        try batch.commit(moving: [RefUpdate(name, from: nil, to: first)])
        #expect(try store.refs.read(name) == first)
        #expect(try store.read(first).bytes == textBytes(800, seed: 1))
        #expect(try store.read(second).bytes == textBytes(300, seed: 2))
        let records = try store.refs.changeLog.changes(after: 0)
        #expect(records.map(\.ref) == [name] && records.map(\.object) == [first])
        #expect(try Sys.list(store.tempDirectory).isEmpty)

        // A transaction whose expectation no longer holds: refused, and its objects stay unpublished.
        let before = try store.stats()
        let stale = try store.batch()
        let third = try stale.put(.manifest, textBytes(900, seed: 3))
        #expect(throws: StoreError.self) { try stale.commit(moving: [RefUpdate(name, from: nil, to: third)]) }
        #expect(!store.contains(third))
        let after = try store.stats()
        #expect(after.objects == before.objects && after.bytes == before.bytes)
        #expect(try store.refs.read(name) == first)
        #expect(try store.refs.changeLog.changes(after: 0).count == 1)
        #expect(try Sys.list(store.tempDirectory).isEmpty)

        // Several refs (the journal path) and a deletion.
        let more = try store.batch()
        let fourth = try more.put(.manifest, textBytes(700, seed: 4))
        try more.commit(moving: [RefUpdate(name, from: first, to: nil), RefUpdate(try RefName("threads/T-2"), from: nil, to: fourth)])
        #expect(try store.refs.read(name) == nil)
        #expect(try store.refs.read(RefName("threads/T-2")) == fourth)
        #expect(try store.read(fourth).bytes == textBytes(700, seed: 4))
        #expect(try Sys.list(store.tempDirectory).isEmpty)
    }

    @Test func largeBatchesBecomeOnePack() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let batch = try store.batch()
        for i in 0..<(ObjectBatch.looseObjectLimit + 1) { try batch.put(.blob, textBytes(100, seed: UInt64(i))) }
        #expect(try batch.commit()?.objects == ObjectBatch.looseObjectLimit + 1)
        #expect(try store.stats().looseObjects == 0)
    }
}

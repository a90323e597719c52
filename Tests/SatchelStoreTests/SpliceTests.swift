import Foundation
@testable import SatchelStore
import SatchelTestSupport
import Testing

/// Splicing deflate blocks the store holds into another zlib stream (bundles): the result
/// inflates to exactly what was written, whatever the bit position where the spliced stream's
/// final block starts and where it ends, and a damaged entry is refused.
@Suite struct SpliceTests {
    /// Content of `count` bytes in one of a few styles (text, repeats, random, mixed), so that
    /// zlib ends its streams with every kind of block at every bit position.
    static func content(_ count: Int, style: Int, _ rng: inout SplitMix64) -> [UInt8] {
        let words = ["lab ", "results ", "are ", "ready. ", "Please ", "call ", "the ", "clinic ", "on ", "Monday.\n"]
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            switch style % 4 {
            case 0: out.append(contentsOf: words[rng.below(words.count)].utf8)
            case 1: out.append(contentsOf: [UInt8](repeating: UInt8(truncatingIfNeeded: rng.next()), count: 1 + rng.below(40)))
            case 2: out.append(UInt8(truncatingIfNeeded: rng.next()))
            default:
                if rng.below(3) == 0 { out.append(UInt8(truncatingIfNeeded: rng.next())) } else { out.append(contentsOf: words[rng.below(words.count)].utf8) }
            }
        }
        return Array(out.prefix(count))
    }

    /// Inflates a whole zlib stream (checking its trailer).
    static func inflateAll(_ stream: [UInt8]) throws -> [UInt8] {
        let inflater = Inflater()
        var out: [UInt8] = []
        let used = try stream.withUnsafeBytes { try inflater.decompress($0) { out.append(contentsOf: $0) } }
        #expect(inflater.finished)
        #expect(used == stream.count)
        return out
    }

    /// Prefix written through the sink, the spliced stream, then a suffix: every seam position.
    @Test func splicedStreamsInflateToTheirContentAtEveryBitPosition() throws {
        // A fixed seed (the coverage of seam positions below is checked); SATCHEL_SPLICE_SEED=N tries another.
        let seed = ProcessInfo.processInfo.environment["SATCHEL_SPLICE_SEED"].flatMap { UInt64($0) } ?? 2026
        var rng = SplitMix64(seed: seed)
        var endResidues = Set<UInt64>(), finalResidues = Set<UInt64>()
        for round in 0..<400 {
            let level: Int32 = [0, 1, 6, 9][round % 4]
            // Up to 300 KB: compressible content past 16 Ki symbols takes several blocks.
            let spliced = Self.content(rng.below(round % 3 == 0 ? 300_000 : 20_000), style: round / 4, &rng)
            let prefix = Self.content(rng.below(3000), style: rng.below(4), &rng)
            let suffix = Self.content(rng.below(3000), style: rng.below(4), &rng)
            let stream = try Deflater(level: level).compressAll(spliced.withUnsafeBytes { $0 })
            let scanner = DeflateLayoutScanner(outputCapacity: 1 + rng.below(9000))
            var seen: [UInt8] = []
            // Feed in uneven pieces, as a file read would.
            var offset = 0
            while offset < stream.count {
                let piece = min(stream.count - offset, 1 + rng.below(5000))
                let used = try stream[offset..<(offset + piece)].withUnsafeBytes { try scanner.scan($0) { seen.append(contentsOf: $0) } }
                #expect(used == piece)
                offset += piece
            }
            let layout = try #require(scanner.layout, "seed \(seed) round \(round)")
            #expect(seen == spliced, "seed \(seed) round \(round)")
            endResidues.insert(layout.endBit % 8)
            finalResidues.insert(layout.finalBlockBit % 8)

            var out: [UInt8] = []
            let sink = DeflateSink(level: [0, 1, 6][rng.below(3)]) { out.append(contentsOf: $0) }
            try sink.write(prefix)
            let adler = UInt32(truncatingIfNeeded: DeflateSink.adler32(1, spliced.withUnsafeBytes { $0 }))
            try sink.splice(layout, contentAdler: adler, contentLength: UInt64(spliced.count)) { take in
                var position = 2
                while position < stream.count {  // pieces, and the trailer too: the seam drops it
                    let piece = min(stream.count - position, 1 + rng.below(3000))
                    try stream[position..<(position + piece)].withUnsafeBytes { try take($0) }
                    position += piece
                }
            }
            try sink.write(suffix)
            try sink.finish()
            #expect(try Self.inflateAll(out) == prefix + spliced + suffix, "seed \(seed) round \(round) level \(level)")
        }
        #expect(endResidues.count == 8, "seed \(seed): end bits seen at residues \(endResidues.sorted())")
        print("splice seams: end bit residues \(endResidues.sorted()), final block residues \(finalResidues.sorted())")
        #expect(finalResidues.count == 8, "seed \(seed): final blocks seen at residues \(finalResidues.sorted())")
    }

    /// Without a splice, the framing written by hand gives exactly zlib's own stream (started at
    /// levels 1 to 9; at level 0 zlib sizes its first stored block around its own header).
    @Test func theHandWrittenFramingIsZlibsOwn() throws {
        var rng = SplitMix64(seed: 7)
        for level: Int32 in [1, 5, 6, 9] {
            let bytes = Self.content(100_000, style: 3, &rng)
            var out: [UInt8] = []
            let sink = DeflateSink(level: level) { out.append(contentsOf: $0) }
            try sink.write(bytes)
            try sink.finish()
            let reference = try Deflater(level: level).compressAll(bytes.withUnsafeBytes { $0 })
            let differs = zip(out, reference).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(out.count == reference.count && differs == nil,
                    "level \(level): \(out.count) vs \(reference.count) bytes, first difference at \(differs.map(String.init) ?? "-")")
        }
    }

    /// Store objects: a packed, compressed one is spliced and checked; a loose one is not
    /// spliced (nothing written); a damaged one throws.
    @Test func storeObjectsSpliceOnlyWhenPackedAndIntact() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        var rng = SplitMix64(seed: 11)
        let text = Self.content(600_000, style: 0, &rng)
        let batch = try store.batch()
        let packed = try batch.put(.blob, text)
        try batch.commit(layout: .pack)
        let loose = try store.put(.blob, Self.content(5000, style: 0, &rng))

        var out: [UInt8] = []
        var hashed: [UInt8] = []
        let sink = DeflateSink { out.append(contentsOf: $0) }
        try sink.write(Array("before".utf8))
        #expect(try store.spliceDeflated(packed, kind: .blob, length: UInt64(text.count), into: sink) { hashed.append(contentsOf: $0) })
        #expect(hashed == text)
        let written = out.count
        #expect(try !store.spliceDeflated(loose, kind: .blob, length: 5000, into: sink) { _ in Issue.record("content of an unspliced object") })
        #expect(out.count == written)
        try sink.write(Array("after".utf8))
        try sink.finish()
        #expect(try Self.inflateAll(out) == Array("before".utf8) + text + Array("after".utf8))

        // The wrong declared length is refused before anything is written.
        let other = DeflateSink { _ in }
        #expect { try store.spliceDeflated(packed, kind: .blob, length: 5, into: other) { _ in } } throws: {
            ($0 as? StoreError)?.code == .corrupt
        }

        // A flipped bit inside the entry's deflate data: refused.
        let pack = store.packSet.packs[0]
        let location = try #require(pack.index.entry(for: packed))
        try flipBit(in: pack.packPath, at: Int(location.offset) + Int(location.size) / 2)
        let damaged = DeflateSink { _ in }
        #expect { try store.spliceDeflated(packed, kind: .blob, length: UInt64(text.count), into: damaged) { _ in } } throws: {
            ($0 as? StoreError)?.isDamage == true
        }
    }
}

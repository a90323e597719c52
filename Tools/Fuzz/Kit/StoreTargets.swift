import Crypto
import Foundation
@_spi(Fuzzing) import SatchelStore

/// The pack index reader: the input is a `.idx` (its trailing SHA-256 is recomputed, so
/// mutations reach the table checks behind it) next to a fixed pack built the same way in every
/// process; the pack is opened as the store opens it and every listed object is read.
final class PackIndexHarness: FuzzHarness {
    let scratch: String
    let directory: String
    static let name = "fuzz"

    init() throws {
        scratch = World.makeScratch("packindex")
        directory = scratch + "/pack"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (packPath, _) = try Self.buildPack(in: scratch + "/store")
        try FileManager.default.copyItem(atPath: packPath, toPath: directory + "/" + Self.name + ".pack")
    }

    /// A store holding one pack of fixed objects (stored and compressed entries, blobs and a
    /// manifest); returns the paths of its `.pack` and `.idx`. The same bytes in every process.
    static func buildPack(in root: String) throws -> (pack: String, index: String) {
        let store = try ObjectStore.create(at: root)
        let batch = try store.batch()
        for i in 0..<12 { _ = try batch.put(.blob, Array("fuzz object \(i)\n".utf8)) }
        _ = try batch.put(.blob, Array(String(repeating: "Your results are ready. ", count: 200).utf8))
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let noise = (0..<2048).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        _ = try batch.put(.blob, noise)
        _ = try batch.put(.manifest, try World.fixtureBytes("xml/valid/directory.xml"))
        guard let info = try batch.commit(durable: false, layout: .pack) else {
            throw FuzzFinding("a batch committed with layout .pack wrote no pack")
        }
        return (root + "/packs/" + info.name + ".pack", root + "/packs/" + info.name + ".idx")
    }

    func run(_ input: [UInt8]) throws(FuzzFinding) {
        let bytes = Self.withChecksum(input)
        do { try World.write(bytes, to: directory + "/" + Self.name + ".idx") } catch {
            throw FuzzFinding("cannot write the scratch index: \(error)")
        }
        do {
            _ = try PackFuzzing.readPack(directory: directory, name: Self.name)
        } catch is StoreError {
            // Refused with the store's error: the expected outcome for a damaged index.
        } catch {
            throw FuzzFinding("a damaged pack index gave an error that is not a StoreError: \(type(of: error)): \(error)")
        }
    }

    /// `bytes` with its last 32 bytes replaced by the SHA-256 of the rest (too short: unchanged).
    static func withChecksum(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= 32 else { return bytes }
        let body = bytes[0..<(bytes.count - 32)]
        return Array(body) + Array(SHA256.hash(data: Array(body)))
    }

    func tearDown() { try? FileManager.default.removeItem(atPath: scratch) }
}

/// The change-log reader: the input becomes a store's `changes.log`; it is read (epoch, last
/// sequence, changes after 0 and after half the last sequence); if fsck finds it sound, no
/// change may lie after the last sequence, and it is compacted and read again: compaction must
/// keep each ref's latest change and its sequence.
final class ChangeLogHarness: FuzzHarness {
    let scratch: String
    let store: ObjectStore

    init() throws {
        scratch = World.makeScratch("changelog")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        store = try ObjectStore.create(at: scratch + "/store")
    }

    func run(_ input: [UInt8]) throws(FuzzFinding) {
        let log = store.refs.changeLog
        do { try World.write(input, to: log.path) } catch {
            throw FuzzFinding("cannot write the scratch change log: \(error)")
        }
        do {
            _ = try log.epoch()
            let last = try log.lastSequence()
            let all = try log.changes(after: 0)
            _ = try log.changes(after: last / 2)
            // For a log fsck finds sound (records in sequence order): no change lies after the
            // last sequence, and compaction keeps what `changes(after:)` reports. A damaged one
            // (records out of order; first found by this target, fixtures/fuzz/crashes/changelog)
            // is read without a trap, and fsck reports it.
            guard log.fuzzingProblems().isEmpty else { return }
            for entry in all where entry.sequence > last {
                throw FuzzFinding("change \(entry.sequence) of \(entry.ref) lies after the last sequence \(last)")
            }
            try log.compact()
            let compacted = try log.changes(after: 0)
            let summary = { (entries: [ChangeLog.Entry]) in entries.map { "\($0.sequence) \($0.ref) \($0.object?.description ?? "-")" } }
            guard summary(compacted) == summary(all) else {
                throw FuzzFinding("compaction changed the changes after 0:\n\(summary(all))\n→\n\(summary(compacted))")
            }
            guard try log.lastSequence() >= last else {
                throw FuzzFinding("compaction lowered the last sequence number below \(last)")
            }
        } catch let finding as FuzzFinding {
            throw finding
        } catch is StoreError {
            // A damaged log is refused with the store's error.
        } catch {
            throw FuzzFinding("a damaged change log gave an error that is not a StoreError: \(type(of: error)): \(error)")
        }
    }

    func tearDown() { try? FileManager.default.removeItem(atPath: scratch) }
}

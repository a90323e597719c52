import Foundation
import SatchelTestSupport
import Testing
@testable import SatchelStore

@Suite struct GCTests {
    func age(_ path: String, by seconds: Double) throws {
        try Sys.setModified(path, secondsSinceEpoch: Sys.now() - seconds)
    }

    @Test func keepsReachableAndYoungRemovesOldGarbage() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let body = try store.put(.blob, textBytes(5000, seed: 1))
        let message = try store.put(.manifest, Array("<message body=\"\(body)\"/>".utf8))
        let thread = try store.put(.manifest, Array("<thread><m id=\"\(message)\"/></thread>".utf8))
        try store.refs.update(RefName("threads/t1"), from: nil, to: thread)
        let oldGarbage = try store.put(.blob, textBytes(5000, seed: 2))
        let youngGarbage = try store.put(.blob, textBytes(5000, seed: 3))
        for id in [body, message, thread, oldGarbage] { try age(store.loose.path(of: id), by: 7200) }

        let report = try store.gc(grace: 3600)
        #expect(report.reachable == 3)
        #expect(report.removedLoose == 1)
        #expect(report.keptYoung == 1)
        #expect(!store.contains(oldGarbage))
        #expect(store.contains(youngGarbage))
        for id in [body, message, thread] { #expect(try store.read(id).bytes.count > 0) }
        #expect(try store.fsck().isClean)
    }

    @Test func rewritingAnExistingObjectFreshensIt() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let bytes = textBytes(5000, seed: 4)
        let id = try store.put(.blob, bytes)
        try age(store.loose.path(of: id), by: 7200)
        try store.put(.blob, bytes)  // a writer about to reference it again
        let report = try store.gc(grace: 3600)
        #expect(report.removedLoose == 0)
        #expect(store.contains(id))
    }

    @Test func consolidatesOldPacksKeepingReachable() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        var keep: [ObjectID] = []
        var drop: [ObjectID] = []
        for round in 0..<3 {
            let batch = try store.batch()
            for i in 0..<10 {
                let id = try batch.put(.blob, textBytes(1000, seed: UInt64(round * 100 + i)))
                if i < 5 { keep.append(id) } else { drop.append(id) }
            }
            try batch.commit(layout: .pack)
        }
        let root = try store.put(.manifest, Array(keep.map { "<r id=\"\($0)\"/>" }.joined().utf8))
        try store.refs.update(RefName("threads/t"), from: nil, to: root)
        for pack in store.packSet.packs { try age(pack.packPath, by: 7200) }
        let report = try store.gc(grace: 3600)
        #expect(report.removedPacks == 3)
        #expect(report.repacked == 15)
        let stats = try store.stats()
        #expect(stats.packs == 1)
        for id in keep { #expect(try store.read(id).bytes.count == 1000) }
        for id in drop { #expect(!store.contains(id)) }
        #expect(try store.fsck().isClean)
    }

    @Test func youngPacksAreLeftAlone() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let batch = try store.batch()
        let id = try batch.put(.blob, textBytes(1000, seed: 5))
        try batch.commit(layout: .pack)
        let report = try store.gc(grace: 3600)
        #expect(report.removedPacks == 0 && report.keptYoung == 1)
        #expect(store.contains(id))
    }

    @Test func removesOldTempFilesOnly() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let old = store.tempDirectory + "/obj-old.tmp"
        let fresh = store.tempDirectory + "/obj-fresh.tmp"
        _ = FileManager.default.createFile(atPath: old, contents: Data([1, 2]))
        _ = FileManager.default.createFile(atPath: fresh, contents: Data([1, 2]))
        try age(old, by: 2 * 86400)
        let report = try store.gc(grace: 0)
        #expect(report.removedTemp == 1)
        #expect(FileManager.default.fileExists(atPath: fresh))
    }
}

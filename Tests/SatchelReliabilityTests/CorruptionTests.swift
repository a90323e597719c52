import Foundation
import SatchelBackup
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelSync
import SatchelTestSupport
import Testing

/// Issue #12, corruption campaign (fast subset; `CrashCampaign corrupt` runs the long one):
/// random bit flips and cuts across stores, bundles and backups are always detected, and gc never
/// turns damage into the deletion of an intact object.
@Suite struct CorruptionTests {
    typealias Rng = SplitMix64

    static func files(_ root: String) -> [String] {
        var result: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let rel = enumerator?.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + rel, isDirectory: &isDir), !isDir.boolValue {
                result.append(root + "/" + rel)
            }
        }
        return result.sorted()
    }

    /// Flips one bit or cuts the file; returns a description.
    static func damage(_ path: String, _ rng: inout Rng) throws -> String {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        let size = data.count
        try FileManager.default.removeItem(atPath: path)
        if rng.below(4) == 0 {
            let length = rng.below(size)
            try data.prefix(length).write(to: URL(fileURLWithPath: path))
            return "\(path) cut to \(length) of \(size)"
        }
        let offset = rng.below(size)
        data[offset] ^= UInt8(1) << UInt8(rng.below(8))
        try data.write(to: URL(fileURLWithPath: path))
        return "\(path) bit flip at \(offset) of \(size)"
    }

    @Test(arguments: 0..<24)
    func storeDamageIsDetectedAndNeverBecomesADeletion(seed: Int) throws {
        let template = try FaultWalkTests.template.get()
        var rng = Rng(seed: UInt64(seed) &* 7919)
        let dir = try template.copy()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let root = dir + "/ws"
        let clean = try Repository.open(at: root)
        _ = try clean.store.gc(grace: 0)  // from here on, every object is reachable
        let before = try clean.store.allObjectIDs()
        let targets = Self.files(root).filter { $0.contains("/objects/") || $0.contains("/packs/") || $0.contains("/refs/") }
        let target = targets[rng.below(targets.count)]
        let what = try Self.damage(target, &rng)
        let repository = try Repository.open(at: root)
        let report = try repository.fsck()
        if report.isClean {
            // Only possible when the damage changed no information: a flipped padding bit after
            // the final deflate block of a loose object (zlib and the ID both check the decoded
            // content, which is intact). Anything else must be detected.
            #expect(target.contains("/objects/") && !what.contains("cut"), "undetected: \(what)")
        }
        for problem in report.problems { #expect(!problem.object.isEmpty && !problem.detail.isEmpty) }
        // gc: either it stops and removes nothing, or every object fsck did not name is still
        // readable afterwards (all of them were reachable).
        let filesBefore = Set(Self.files(root + "/objects") + Self.files(root + "/packs"))
        do {
            _ = try repository.store.gc(grace: 0)
            let fresh = try ObjectStore(root: root)
            for id in before where !report.problems.contains(where: { $0.object == id.description }) {
                #expect(throws: Never.self, "gc lost \(id) after \(what)") { _ = try fresh.read(id, limit: 1 << 30) }
            }
        } catch {
            #expect(Set(Self.files(root + "/objects") + Self.files(root + "/packs")) == filesBefore,
                    "gc stopped (\(error)) but removed files after \(what)")
        }
    }

    @Test(arguments: 0..<16)
    func bundleAndBackupDamageIsDetected(seed: Int) throws {
        let template = try FaultWalkTests.template.get()
        var rng = Rng(seed: UInt64(seed) &* 104_729)
        let dir = try template.copy()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bundle = dir + "/peer.bundle"
        try FileManager.default.copyItem(atPath: template.root + "/peer.bundle", toPath: bundle)
        let what = try Self.damage(bundle, &rng)
        let ws = try Repository.open(at: dir + "/ws")
        let heads = try ws.store.refs.list()
        #expect(throws: (any Error).self, "bundle: \(what)") { try SyncEngine(ws).applyBundle(bundle) }
        #expect(try ws.store.refs.list().map(\.id) == heads.map(\.id))

        let archive = dir + "/ws.backup"
        try FileManager.default.copyItem(atPath: template.root + "/ws.backup", toPath: archive)
        let damaged = try Self.damage(archive, &rng)
        // Detected either way: verify reports damage, or refuses the archive outright.
        do {
            let report = try Backup.verify(archive, passphrase: nil)
            #expect(!report.isClean, "backup: \(damaged)")
        } catch {
            // Refused: detected.
        }
    }

    @Test func restoreRefusesRefsThatNameTheWrongKindOfObject() throws {
        let template = try FaultWalkTests.template.get()
        let dir = try template.copy()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ws = try Repository.open(at: dir + "/ws")
        let directory = try #require(try ws.store.refs.read(RefName("directory")))
        try ws.store.refs.update(RefName("threads/T-forged"), from: nil, to: directory)
        _ = try Backup.create(ws, to: dir + "/forged.backup")
        #expect { _ = try Backup.restore(dir + "/forged.backup", to: dir + "/restored", passphrase: nil) } throws: { error in
            (error as? BackupError)?.code == .damaged && "\(error)".contains("threads/T-forged")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/restored"))
    }
}

import Foundation
import SatchelBackup
import SatchelManifest
import SatchelMessaging
import SatchelStore
import Testing

@Suite struct RoundTripTests {
    func sampleStore(_ ws: Workspace) throws -> Repository {
        let laptop = try ws.store("laptop")
        let scan = try ws.attachment("scan.pdf", size: 300_000, seed: 7)
        try compose(laptop, subject: "Lab results", bcc: ["nursing"], attachments: [scan])
        try compose(laptop, patient: "p2", subject: "Follow-up")
        var draft = ComposeRequest(author: "s1")
        draft.patient = "p2"
        draft.subject = "Draft subject"
        draft.body = .text("unfinished")
        _ = try laptop.saveDraft(draft)
        return laptop
    }

    @Test(arguments: [false, true])
    func roundTripRestoresEveryObjectAndRefUnderANewReplica(encrypted: Bool) throws {
        let ws = Workspace()
        let laptop = try sampleStore(ws)
        let archive = ws.path("full.backup")
        let summary = try Backup.create(laptop, to: archive, options: try fastOptions(passphrase: encrypted ? "correct horse" : nil))
        #expect(summary.encrypted == encrypted)
        #expect(!summary.incremental)

        let report = try Backup.verify(archive, passphrase: encrypted ? try Passphrase(string: "correct horse") : nil)
        #expect(report.isClean, "\(report.problems)")
        #expect(report.objects == summary.objects)

        let restoredPath = ws.path("restored")
        let result = try Backup.restore(archive, to: restoredPath, passphrase: encrypted ? try Passphrase(string: "correct horse") : nil)
        let restored = try Repository.open(at: restoredPath)
        #expect(try refMap(restored) == refMap(laptop))
        #expect(try reachable(restored) == reachable(laptop))
        #expect(try laptop.store.allObjectIDs().isSubset(of: restored.store.allObjectIDs()))
        #expect(restored.replica != laptop.replica)
        #expect(result.replica == restored.replica)
        #expect(restored.config.retiredReplicas == [laptop.replica])
        #expect(restored.config.role == laptop.config.role)
        #expect(try restored.store.refs.changeLog.epoch() != laptop.store.refs.changeLog.epoch())
        #expect(try fsckClean(restored))
        // Nothing left next to it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.root).filter { $0.hasPrefix(".satchel") }.isEmpty)
    }

    @Test func restoreRefusesANonEmptyTargetAndAcceptsAnEmptyOne() throws {
        let ws = Workspace()
        let laptop = try sampleStore(ws)
        let archive = ws.path("full.backup")
        try Backup.create(laptop, to: archive, options: try fastOptions())
        #expect(errorCode { try Backup.restore(archive, to: laptop.store.root, passphrase: nil) } == .targetExists)
        try FileManager.default.createDirectory(atPath: ws.path("empty"), withIntermediateDirectories: false)
        try Backup.restore(archive, to: ws.path("empty"), passphrase: nil)
        #expect(try fsckClean(try Repository.open(at: ws.path("empty"))))
        // An archive is never overwritten.
        #expect(errorCode { try Backup.create(laptop, to: archive, options: try fastOptions()) } == .targetExists)
    }

    @Test func checkpointsAreDroppedSoPeersReconcileFully() throws {
        let ws = Workspace()
        let laptop = try sampleStore(ws)
        // A sync checkpoint ref (what SyncEngine keeps per peer).
        let checkpoint = PeerCheckpoint(peer: "rportal", peerRole: .portal, received: .init(epoch: "e1", sequence: 4),
                                        delivered: nil, updated: .now())
        let id = try laptop.store.put(.manifest, try checkpoint.encoded())
        try laptop.store.refs.update(try RefName("sync/peers/rportal"), from: nil, to: id)
        let archive = ws.path("full.backup")
        try Backup.create(laptop, to: archive, options: try fastOptions())
        let result = try Backup.restore(archive, to: ws.path("restored"), passphrase: nil)
        #expect(result.droppedCheckpoints == 1)
        let restored = try Repository.open(at: ws.path("restored"))
        #expect(try restored.store.refs.list(prefix: "sync/").isEmpty)
    }

    @Test func encryptedArchiveHoldsNoPlaintext() throws {
        let ws = Workspace()
        let laptop = try ws.store("laptop")
        let scan = try ws.attachment("xray.jpg", size: 50_000, seed: 42)
        try compose(laptop, subject: "Zanzibar-Subject-Marker", body: "Marmalade-Body-Marker with a long sentence of text",
                    bcc: ["nursing"], attachments: [scan])
        var draft = ComposeRequest(author: "s1")
        draft.patient = "p1"
        draft.subject = "Draft-Subject-Marker"
        draft.body = .text("Draft-Body-Marker")
        _ = try laptop.saveDraft(draft)
        let archive = ws.path("enc.backup")
        try Backup.create(laptop, to: archive, options: try fastOptions(passphrase: "s3cret"))
        let content = bytes(archive)
        func contains(_ needle: [UInt8]) -> Bool {
            guard needle.count <= content.count else { return false }
            return (0...(content.count - needle.count)).contains { i in content[i] == needle[0] && Array(content[i..<(i + needle.count)]) == needle }
        }
        for text in ["Zanzibar-Subject-Marker", "Marmalade-Body-Marker", "Quixotica", "Rosa", "Draft-Subject-Marker",
                     "Draft-Body-Marker", "xray.jpg", "rosa@example.org", "+15550100", "Ada Shaw", "Nursing"] {
            #expect(!contains(Array(text.utf8)), "\(text) appears in the encrypted archive")
        }
        let attachment = bytes(scan)
        for offset in stride(from: 0, to: attachment.count - 16, by: 4096) {
            #expect(!contains(Array(attachment[offset..<(offset + 16)])), "attachment bytes at \(offset) appear in the archive")
        }
        // The plaintext archive does carry them (the test would notice if it could not see them).
        let plain = ws.path("plain.backup")
        try Backup.create(laptop, to: plain, options: try fastOptions())
        let plainContent = bytes(plain)
        let window = Array(attachment[4096..<4112])
        #expect((0...(plainContent.count - 16)).contains { Array(plainContent[$0..<($0 + 16)]) == window })
    }

    @Test func wrongOrMissingPassphraseIsRefusedAndLeavesNothing() throws {
        let ws = Workspace()
        let laptop = try sampleStore(ws)
        let archive = ws.path("enc.backup")
        try Backup.create(laptop, to: archive, options: try fastOptions(passphrase: "right"))
        let target = ws.path("restored")
        #expect(errorCode { try Backup.restore(archive, to: target, passphrase: try Passphrase(string: "wrong")) } == .passphrase)
        #expect(errorCode { try Backup.restore(archive, to: target, passphrase: nil) } == .passphrase)
        #expect(errorCode { _ = try Backup.verify(archive, passphrase: try Passphrase(string: "wrong")) } == .passphrase)
        #expect(!FileManager.default.fileExists(atPath: target))
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.root).filter { $0.hasPrefix(".satchel") }.isEmpty)
    }
}

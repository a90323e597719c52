import Foundation
import SatchelBackup
import SatchelMessaging
import SatchelStore
import Testing

@Suite struct IncrementalTests {
    @Test(arguments: [nil, "pw"] as [String?])
    func incrementalChainRestoresTheLatestState(passphrase: String?) throws {
        let ws = Workspace()
        let laptop = try ws.store("laptop")
        let scan = try ws.attachment("scan.pdf", size: 200_000, seed: 1)
        let first = try compose(laptop, attachments: [scan])
        let full = ws.path("0-full.backup")
        let fullSummary = try Backup.create(laptop, to: full, options: try fastOptions(passphrase: passphrase))

        _ = try laptop.reply(thread: first.thread, as: "s2", body: .text("Second note"))
        try compose(laptop, patient: "p2", subject: "New thread")
        let inc1 = ws.path("1-inc.backup")
        let s1 = try Backup.create(laptop, to: inc1, options: try fastOptions(passphrase: passphrase, base: full))
        #expect(s1.base == fullSummary.archive)
        #expect(s1.objects < fullSummary.objects)

        try laptop.close(thread: first.thread, as: "s1")
        let inc2 = ws.path("2-inc.backup")
        let s2 = try Backup.create(laptop, to: inc2, options: try fastOptions(passphrase: passphrase, base: inc1))
        #expect(s2.base == s1.archive)
        // The attachment is stored once, in the full archive only.
        #expect(s2.objects < 10)

        let pass = try passphrase.map { try Passphrase(string: $0) }
        // Without its chain the incremental cannot be restored, and nothing is left behind.
        #expect(errorCode { try Backup.restore(inc2, to: ws.path("r0"), passphrase: pass) } == .notFound)
        #expect(errorCode { try Backup.restore(inc2, bases: [inc1], to: ws.path("r0"), passphrase: pass) } == .notFound)
        #expect(!FileManager.default.fileExists(atPath: ws.path("r0")))
        // Bases in any order.
        try Backup.restore(inc2, bases: [inc1, full], to: ws.path("r2"), passphrase: pass)
        let restored = try Repository.open(at: ws.path("r2"))
        #expect(try refMap(restored) == refMap(laptop))
        #expect(try reachable(restored) == reachable(laptop))
        #expect(restored.config.retiredReplicas == [laptop.replica])
        #expect(try fsckClean(restored))

        let report = try Backup.verify(inc2, passphrase: pass, bases: [full, inc1])
        #expect(report.isClean, "\(report.problems)")
        #expect(report.note == nil)
        #expect(try Backup.verify(inc2, passphrase: pass).note != nil)
        // A base that is not in the chain is a usage error.
        let other = try ws.store("other")
        try Backup.create(other, to: ws.path("other.backup"), options: try fastOptions(passphrase: passphrase))
        #expect(errorCode { try Backup.restore(inc2, bases: [inc1, full, ws.path("other.backup")], to: ws.path("r3"), passphrase: pass) } == .usage)
        // An incremental on another store's archive is refused.
        #expect(errorCode { try Backup.create(laptop, to: ws.path("x.backup"), options: try fastOptions(passphrase: passphrase, base: ws.path("other.backup"))) } == .usage)
    }
}

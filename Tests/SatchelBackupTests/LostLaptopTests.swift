import Foundation
import SatchelBackup
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelSync
import Testing

/// The lost-laptop story: back up the laptop, keep working and syncing with the portal, lose
/// the laptop, restore the backup (new replica ID), work on, sync: both stores hold every
/// message ever written and the same thread heads, and no version-vector counter was reused.
@Suite struct LostLaptopTests {
    @Test func restoreThenSyncBringsBackEverythingAndLosesNothing() throws {
        let ws = Workspace()
        let laptop = try ws.store("laptop")
        let portal = try ws.store("portal", .portal)
        var messages = Set<String>()

        let t1 = try compose(laptop, subject: "Lab results", bcc: ["nursing"])
        messages.insert(t1.message)
        _ = try SyncEngine(laptop).sync(with: portal)
        messages.insert(try portal.reply(thread: t1.thread, as: "u1", body: .text("Thanks, doctor")).message)
        _ = try SyncEngine(laptop).sync(with: portal)

        let archive = ws.path("laptop.backup")
        try Backup.create(laptop, to: archive, options: try fastOptions(passphrase: "pw"))

        // More work after the backup, synced to the portal.
        messages.insert(try laptop.reply(thread: t1.thread, as: "s2", body: .text("After the backup")).message)
        let t2 = try compose(laptop, patient: "p2", subject: "After backup")
        messages.insert(t2.message)
        _ = try SyncEngine(laptop).sync(with: portal)
        messages.insert(try portal.reply(thread: t2.thread, as: "u3", body: .text("Patient reply")).message)
        let oldVersion = try laptop.thread(t1.thread).1.version

        // The laptop is lost.
        let oldReplica = laptop.replica
        try FileManager.default.removeItem(atPath: laptop.store.root)

        let summary = try Backup.restore(archive, to: ws.path("new-laptop"), passphrase: try Passphrase(string: "pw"))
        let restored = try Repository.open(at: ws.path("new-laptop"))
        #expect(restored.replica != oldReplica)
        #expect(summary.retired == oldReplica)

        // New work on the restored laptop before it syncs, then sync.
        messages.insert(try restored.reply(thread: t1.thread, as: "s1", body: .text("Written on the restored laptop")).message)
        let t3 = try compose(restored, patient: "p2", subject: "From the new laptop")
        messages.insert(t3.message)
        _ = try SyncEngine(restored).sync(with: portal)
        _ = try SyncEngine(restored).sync(with: portal)

        func allMessages(_ r: Repository) throws -> Set<String> {
            var ids = Set<String>()
            for ref in try r.store.refs.list(prefix: "threads/") {
                let thread = try r.load(ThreadManifest.self, ref.id)
                for m in thread.messages { ids.insert(m.id) }
            }
            return ids
        }
        #expect(try allMessages(portal) == messages)
        #expect(try allMessages(restored) == messages)
        let portalHeads = try portal.store.refs.list(prefix: "threads/").map { "\($0.name)=\($0.id)" }
        let laptopHeads = try restored.store.refs.list(prefix: "threads/").map { "\($0.name)=\($0.id)" }
        #expect(portalHeads == laptopHeads)
        // The restored laptop counts under its new ID; the old replica's counters never move again.
        let version = try restored.thread(t1.thread).1.version
        #expect((version.counters[restored.replica] ?? 0) >= 1)
        #expect(version.counters[oldReplica] == oldVersion.counters[oldReplica])
        #expect(try fsckClean(restored))
    }
}

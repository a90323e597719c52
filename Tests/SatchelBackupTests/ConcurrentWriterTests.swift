import Foundation
@testable import SatchelBackup
import SatchelMessaging
import SatchelStore
import Synchronization
import Testing

/// Backups of a store that a writer keeps changing (sends and replies, each a multi-ref
/// transaction) are never torn: every archive restores, every ref's closure is complete, every
/// thread's messages all have their staff envelopes, and fsck is clean.
@Suite struct ConcurrentWriterTests {
    /// A writer that never pauses cannot starve a snapshot: with no optimistic attempts at all,
    /// the snapshot holds the change-log lock, waits for the change in flight, and returns a
    /// consistent set of refs; once it releases the lock the writer goes on (the snapshot must
    /// not deadlock on the lock it holds, nor make the writer fail).
    @Test func aSnapshotUnderTheChangeLogLockAlwaysSucceedsAgainstANonStopWriter() throws {
        let ws = Workspace()
        let laptop = try ws.store("laptop")
        let first = try compose(laptop, bcc: ["nursing"])
        let writer = NonStopWriter(store: ws.path("laptop")) { repository, i in
            _ = try repository.reply(thread: first.thread, as: "s2", body: .text("note \(i)"))
        }
        defer { writer.stop() }
        let warmUp = Date().addingTimeInterval(60)
        while writer.writes < 3 && Date() < warmUp { Thread.sleep(forTimeInterval: 0.01) }
        try #require(writer.writes >= 3, "the writer did not get going")
        for round in 0..<5 {
            let started = Date()
            let refs = try RefSnapshot.take(laptop.store, optimistic: 0)
            #expect(Date().timeIntervalSince(started) < 10, "round \(round)")
            let head = try #require(refs.first { $0.name.rawValue == "threads/\(first.thread)" })
            #expect(laptop.store.contains(head.id))
            // The lock is released again: the writer goes on (it waits while a snapshot holds it).
            let before = writer.writes
            let deadline = Date().addingTimeInterval(30)
            while writer.writes == before && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            #expect(writer.writes > before, "round \(round): the writer made no progress after the snapshot")
        }
    }

    @Test func backupsOfALiveStoreAreConsistent() throws {
        let ws = Workspace()
        let laptop = try ws.store("laptop")
        let first = try compose(laptop, bcc: ["nursing"])
        let writer = NonStopWriter(store: ws.path("laptop")) { repository, i in
            if i % 2 == 0 {
                try compose(repository, patient: i % 4 == 0 ? "p1" : "p2", subject: "Bulk \(i)", bcc: ["nursing"])
            } else {
                _ = try repository.reply(thread: first.thread, as: "s2", body: .text("note \(i)"))
            }
        }
        var archives: [String] = []
        let deadline = Date().addingTimeInterval(20)
        while archives.count < 4 && Date() < deadline {
            let archive = ws.path("live-\(archives.count).backup")
            try Backup.create(laptop, to: archive, options: try fastOptions())
            archives.append(archive)
        }
        writer.stop()
        #expect(writer.writes > 0)
        #expect(archives.count == 4)
        for (i, archive) in archives.enumerated() {
            #expect(try Backup.verify(archive, passphrase: nil).isClean)
            try Backup.restore(archive, to: ws.path("r\(i)"), passphrase: nil)
            let restored = try Repository.open(at: ws.path("r\(i)"))
            #expect(try fsckClean(restored))
            // A send commits the thread head and its message's envelope together (every send here
            // has Staff Bcc; replies have none): the opening message of every thread has its
            // envelope, and every envelope names a message of an existing thread.
            let envelopes = Set(try restored.store.refs.list(prefix: "envelopes/").map { $0.name.rawValue })
            var messageRefs = Set<String>()
            for ref in try restored.store.refs.list(prefix: "threads/") {
                let thread = try restored.thread(String(ref.name.rawValue.dropFirst(8))).thread
                let opening = try #require(thread.messages.first)
                #expect(envelopes.contains("envelopes/\(thread.id)/\(opening.id)"),
                        "thread \(thread.id) has its opening message \(opening.id) without its envelope: a torn snapshot")
                for message in thread.messages { messageRefs.insert("envelopes/\(thread.id)/\(message.id)") }
            }
            #expect(envelopes.isSubset(of: messageRefs), "an envelope without its thread: a torn snapshot")
        }
    }
}

/// A thread that runs `write` on its own repository of `store` over and over (`i` counting
/// from 0) until ``stop()``; a failing write is recorded as a test issue and ends it.
final class NonStopWriter: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let count = Atomic<Int>(0)
    private let finished = Atomic<Bool>(false)

    init(store: String, _ write: @escaping @Sendable (Repository, Int) throws -> Void) {
        let thread = Thread { [self] in
            defer { finished.store(true, ordering: .releasing) }
            do {
                let repository = try Repository.open(at: store)
                var i = 0
                while !stopping.load(ordering: .relaxed) {
                    try write(repository, i)
                    i += 1
                    count.add(1, ordering: .relaxed)
                }
            } catch {
                Issue.record("writer failed: \(error)")
            }
        }
        thread.start()
    }

    /// Writes completed so far.
    var writes: Int { count.load(ordering: .relaxed) }

    /// Asks the writer to stop and waits until it has.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        while !finished.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.01) }
    }
}

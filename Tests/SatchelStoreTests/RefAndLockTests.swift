import Foundation
import Testing
@testable import SatchelStore

@Suite struct RefAndLockTests {
    @Test func compareAndSwap() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let a = try store.put(.manifest, Array("a".utf8))
        let b = try store.put(.manifest, Array("b".utf8))
        let name = try RefName("threads/T-1")
        #expect(try store.refs.read(name) == nil)
        try store.refs.update(name, from: nil, to: a)
        #expect(try store.refs.read(name) == a)
        // A stale expectation is refused and changes nothing.
        #expect { try store.refs.update(name, from: nil, to: b) } throws: { ($0 as? StoreError)?.code == .conflict }
        #expect { try store.refs.update(name, from: b, to: a) } throws: { ($0 as? StoreError)?.code == .conflict }
        #expect(try store.refs.read(name) == a)
        try store.refs.update(name, from: a, to: b)
        #expect(try store.refs.list().map(\.name.rawValue) == ["threads/T-1"])
        try store.refs.update(name, from: b, to: nil)
        #expect(try store.refs.read(name) == nil)
        #expect(try Sys.list(store.tempDirectory).isEmpty)
    }

    @Test(arguments: ["", "../x", "threads/../../etc", "a//b", ".hidden", "x.lock", "x.tmp", "a b",
                      "a/b/c/d/e", "t\u{0}x", "é", String(repeating: "a", count: 201)])
    func hostileRefNamesAreRefused(_ text: String) {
        #expect(throws: StoreError.self) { try RefName(text) }
    }

    @Test func liveLockMakesOthersWaitThenBusy() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let path = store.refs.directory + "/x.lock"
        let held = try LeaseLock.acquire(path, tempDirectory: store.tempDirectory)
        #expect(held.isHeld)
        #expect { try LeaseLock.acquire(path, tempDirectory: store.tempDirectory, wait: 0.2) }
            throws: { ($0 as? StoreError)?.code == .busy }
        held.release()
        let again = try LeaseLock.acquire(path, tempDirectory: store.tempDirectory, wait: 0.2)
        again.release()
    }

    @Test func lockOfADeadProcessIsTakenOver() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let path = store.refs.directory + "/x.lock"
        // A holder on this host whose pid does not exist.
        let dead = "satchel-lock 1\npid 2147483000\nhost \(Sys.hostName)\ntime \(Int64(Sys.now() * 1000))\ntoken dead\n"
        try dead.write(toFile: path, atomically: true, encoding: .utf8)
        let lock = try LeaseLock.acquire(path, tempDirectory: store.tempDirectory, wait: 0.5)
        #expect(lock.isHeld)
        lock.release()
    }

    @Test func expiredLeaseFromAnotherHostIsTakenOver() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let path = store.refs.directory + "/x.lock"
        let old = Int64((Sys.now() - 3600) * 1000)
        try "satchel-lock 1\npid 1\nhost elsewhere\ntime \(old)\ntoken old\n".write(toFile: path, atomically: true, encoding: .utf8)
        let lock = try LeaseLock.acquire(path, tempDirectory: store.tempDirectory, wait: 0.5)
        #expect(lock.isHeld)
        // A fresh lease from another host is respected.
        lock.release()
        let fresh = Int64(Sys.now() * 1000)
        try "satchel-lock 1\npid 1\nhost elsewhere\ntime \(fresh)\ntoken new\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect { try LeaseLock.acquire(path, tempDirectory: store.tempDirectory, wait: 0.2) }
            throws: { ($0 as? StoreError)?.code == .busy }
    }

    @Test func renewedLeaseStaysOurs() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let lock = try LeaseLock.acquire(store.refs.directory + "/y.lock", tempDirectory: store.tempDirectory)
        try lock.renew()
        #expect(lock.isHeld)
        lock.release()
        #expect(!lock.isHeld)
    }

    @Test func concurrentCASFromManyThreadsLosesNoUpdate() async throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let name = try RefName("counter")
        let ids = try (0..<41).map { try store.put(.manifest, Array("v\($0)".utf8)) }
        try store.refs.update(name, from: nil, to: ids[0])
        // 4 tasks each advance the ref 10 times; each step is read → CAS, retried on conflict.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var done = 0
                    while done < 10 {
                        let current = try store.refs.read(name)!
                        let next = ids[ids.firstIndex(of: current)! + 1]
                        do {
                            try store.refs.update(name, from: current, to: next)
                            done += 1
                        } catch let error as StoreError where error.code == .conflict {}
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try store.refs.read(name) == ids[40])
    }
}

@Suite struct RefTransactionTests {
    func ids(_ store: ObjectStore, _ n: Int) throws -> [ObjectID] {
        try (0..<n).map { try store.put(.manifest, Array("head \($0)".utf8)) }
    }

    @Test func allOrNothing() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let v = try ids(store, 4)
        let a = try RefName("threads/a"), b = try RefName("threads/b"), c = try RefName("drafts/c")
        try store.refs.update(a, from: nil, to: v[0])
        // One stale expectation: nothing changes.
        #expect { try store.refs.commit([RefUpdate(a, from: v[0], to: v[1]), RefUpdate(b, from: v[3], to: v[2])]) }
            throws: { ($0 as? StoreError)?.code == .conflict }
        #expect(try store.refs.read(a) == v[0])
        #expect(try store.refs.read(b) == nil)
        try store.refs.commit([RefUpdate(a, from: v[0], to: v[1]), RefUpdate(b, from: nil, to: v[2]),
                               RefUpdate(c, from: nil, to: v[3])])
        #expect(try store.refs.list().map(\.id) == [v[3], v[1], v[2]])
        try store.refs.commit([RefUpdate(a, from: v[1], to: nil), RefUpdate(c, from: v[3], to: nil)])
        #expect(try store.refs.list().map(\.name.rawValue) == ["threads/b"])
        #expect(try Sys.list(store.tempDirectory).isEmpty)
    }

    @Test func interruptedTransactionIsRolledForwardOnOpen() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let v = try ids(store, 4)
        let a = try RefName("threads/a"), b = try RefName("threads/b"), c = try RefName("threads/c")
        try store.refs.update(a, from: nil, to: v[0])
        try store.refs.update(c, from: nil, to: v[3])
        // A process died after its journal was durable and after applying `a` only; meanwhile
        // nobody touched b; c was changed by someone else after the crash.
        let updates = [RefUpdate(a, from: v[0], to: v[1]), RefUpdate(b, from: nil, to: v[2]),
                       RefUpdate(c, from: v[0], to: v[1])]
        var journal = RefStore.encodeJournal(updates)
        let text = String(decoding: journal, as: UTF8.self).replacingOccurrences(of: "pid \(Sys.processID)", with: "pid 2147483000")
        journal = Array(text.utf8)
        try FileIO.writeFileDurably(store.tempDirectory + "/txn-dead.journal", journal, tempDirectory: store.tempDirectory)
        try store.refs.update(a, from: v[0], to: v[1])
        let reopened = try ObjectStore(root: store.root)
        #expect(try reopened.refs.read(a) == v[1])
        #expect(try reopened.refs.read(b) == v[2])
        #expect(try reopened.refs.read(c) == v[3])  // not clobbered
        #expect(try Sys.list(store.tempDirectory).isEmpty)
    }

    @Test func tornJournalIsDiscarded() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        try "satchel-ref-txn 1\npid 1\nho".write(toFile: store.tempDirectory + "/txn-torn.journal", atomically: false, encoding: .utf8)
        let reopened = try ObjectStore(root: store.root)
        #expect(try reopened.refs.list().isEmpty)
        #expect(try Sys.list(store.tempDirectory).isEmpty)
    }
}

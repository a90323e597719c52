import Foundation
import SatchelMessaging
@testable import SatchelStore
import Testing
@testable import SatchelSync

/// Found by `CrashCampaign stress` (several processes on one store): a bundle made while a ref
/// change was in flight (its change-log record written, the ref not yet moved: the store's
/// crash-safe order) left the change out while its `upTo` covered the record, so once the peer
/// acknowledged it the change was never sent. Bundle planning now reads the log, settles
/// (waits for in-flight changes: RefStore.settle), then reads refs.
@Suite struct CommitBarrierTests {
    @Test func aBundleNeverCountsAnInFlightRefChangeAsSent() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        _ = try compose(laptop)
        // One full exchange, so the next bundle is incremental.
        let first = clinic.bundlePath()
        _ = try SyncEngine(laptop).createBundle(for: portal.replica, to: first)
        _ = try SyncEngine(portal).applyBundle(first)
        let back = clinic.bundlePath()
        _ = try SyncEngine(portal).createBundle(for: laptop.replica, to: back)
        _ = try SyncEngine(laptop).applyBundle(back)
        // A second thread whose ref is put back in flight: record written, ref not yet there.
        let second = try compose(laptop, patient: "p2", subject: "Second")
        let ref = try RefName("threads/" + second.thread)
        let head = try #require(try laptop.store.refs.read(ref))
        let refs = laptop.store.refs
        let refFile = refs.path(of: ref)
        let temp = laptop.store.tempDirectory
        try FileManager.default.removeItem(atPath: refFile)
        let recorded = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let writer = Thread {
            try? refs.inFlight {
                _ = try refs.changeLog.append([RefUpdate(ref, from: nil, to: head)])
                recorded.signal()
                Thread.sleep(forTimeInterval: 0.3)
                try FileIO.writeFileDurably(refFile, Array((head.description + "\n").utf8), tempDirectory: temp)
            }
            done.signal()
        }
        writer.start()
        recorded.wait()
        let during = clinic.bundlePath()
        _ = try SyncEngine(laptop).createBundle(for: portal.replica, to: during)
        done.wait()
        _ = try SyncEngine(portal).applyBundle(during)
        #expect(try Clinic.heads(portal) == Clinic.heads(laptop))
        #expect(try Clinic.heads(portal)["threads/" + second.thread] == head)
    }

    /// The barrier waits for a change in flight, and says busy (75) after the store's wait.
    @Test func settleWaitsForInFlightChangesThenSaysBusy() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let refs = laptop.store.refs
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let holder = Thread {
            try? refs.inFlight {
                holding.signal()
                release.wait()
            }
        }
        holder.start()
        holding.wait()
        let quick = RefStore(directory: refs.directory, tempDirectory: laptop.store.tempDirectory,
                             changeLog: refs.changeLog, lockWait: 0.2)
        let busy = #expect(throws: StoreError.self) { try quick.settle() }
        #expect(busy?.code == .busy)
        let started = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { release.signal() }
        try refs.settle()
        #expect(Date().timeIntervalSince(started) >= 0.15)
    }
}

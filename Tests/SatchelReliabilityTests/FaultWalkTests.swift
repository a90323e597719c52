import Foundation
import SatchelBackup
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelSync
import SatchelTestSupport
import SystemPackage
import Testing

/// Issue #12, fault injection under the store: for every operation, fail its 1st, 2nd, … Nth
/// write, fsync, rename, link or directory sync (alternating EIO and ENOSPC) until one run
/// passes every point. After each run: the operation succeeded or threw a clear error; a fresh
/// open finds fsck clean; everything acknowledged before is still there; a retry succeeds.
@Suite(.serialized) struct FaultWalkTests {
    /// The small clinic shared with the crash campaign (fixtures/clinic/small-directory.xml).
    static func directoryXML() throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: SourceTree.path("fixtures/clinic/small-directory.xml"))))
    }

    /// A workstation with one thread (acknowledged before any fault), a peer with one thread of
    /// its own, a bundle from the peer, and a backup archive of the workstation. Built once;
    /// every trial works on a copy.
    final class Template: Sendable {
        let root: String
        let thread: String
        let peerReplica: String
        init() throws {
            root = NSTemporaryDirectory() + "satchel-faults-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            let ws = try Repository.create(at: root + "/ws", role: .workstation)
            try ws.importDirectory(try FaultWalkTests.directoryXML())
            var request = ComposeRequest(author: "s1")
            request.to = ["u1"]
            request.subject = "Before"
            request.body = .text("Acknowledged before any fault.")
            thread = try ws.send(request).threads[0].thread
            let peer = try Repository.create(at: root + "/peer", role: .workstation)
            try peer.importDirectory(try FaultWalkTests.directoryXML())
            var other = ComposeRequest(author: "s2")
            other.to = ["u2"]
            other.subject = "From the peer"
            other.body = .text("A peer's message.")
            _ = try peer.send(other)
            peerReplica = peer.replica
            // The bundle comes from a third store, so that `peer` has never sent anything to
            // `ws` (bundle creation moves the sender's checkpoint) and the sync trial is real.
            let origin = try Repository.create(at: root + "/origin", role: .workstation)
            try origin.importDirectory(try FaultWalkTests.directoryXML())
            _ = try origin.send(other)
            _ = try SyncEngine(origin).createBundle(for: ws.replica, targetRole: .workstation, to: root + "/peer.bundle")
            _ = try Backup.create(ws, to: root + "/ws.backup")
            _ = FileManager.default.createFile(atPath: root + "/scan.pdf", contents: Data((0..<30_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }))
        }
        deinit { try? FileManager.default.removeItem(atPath: root) }

        /// A fresh copy of the template in its own directory.
        func copy() throws -> String {
            let dir = root + "/trial-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
            for name in ["ws", "peer"] { try FileManager.default.copyItem(atPath: root + "/" + name, toPath: dir + "/" + name) }
            return dir
        }
    }

    struct Operation: Sendable, CustomStringConvertible {
        var name: String
        /// Runs the operation in trial directory `dir`.
        var run: @Sendable (_ template: Template, _ dir: String) throws -> Void
        /// After a successful retry: the operation's effect is present.
        var check: @Sendable (_ template: Template, _ dir: String) throws -> Bool
        var description: String { name }
    }

    static func compose(_ dir: String, to: [String] = ["u1"], bulk: DraftManifest.Bulk? = nil, attach: String? = nil) throws {
        let ws = try Repository.open(at: dir + "/ws")
        var request = ComposeRequest(author: "s1")
        request.to = to
        request.bulk = bulk
        request.subject = "New"
        request.body = .text("A new message body.")
        if let attach { request.attachments = [.file(path: attach)] }
        _ = try ws.send(request)
    }

    static func threadCount(_ path: String) throws -> Int {
        try Repository.open(at: path).store.refs.list(prefix: "threads/").count
    }

    static let operations: [Operation] = [
        Operation(name: "compose", run: { t, dir in try compose(dir, attach: t.root + "/scan.pdf") },
                  check: { _, dir in try threadCount(dir + "/ws") >= 2 }),
        Operation(name: "bulk send", run: { _, dir in try compose(dir, to: [], bulk: .activePatients) },
                  check: { _, dir in try threadCount(dir + "/ws") >= 4 }),
        Operation(name: "reply", run: { t, dir in
            _ = try Repository.open(at: dir + "/ws").reply(thread: t.thread, as: "s2", body: .text("A reply."))
        }, check: { t, dir in try Repository.open(at: dir + "/ws").threadView(t.thread).messages.count >= 2 }),
        Operation(name: "close", run: { t, dir in
            let ws = try Repository.open(at: dir + "/ws")
            if try ws.threadView(t.thread).summary.status != .closed { try ws.close(thread: t.thread, as: "s1") }
        }, check: { t, dir in try Repository.open(at: dir + "/ws").threadView(t.thread).summary.status == .closed }),
        Operation(name: "gc", run: { _, dir in
            let ws = try Repository.open(at: dir + "/ws")
            _ = try ws.store.put(.blob, Array("garbage".utf8))
            _ = try ws.store.gc(grace: 0)
        }, check: { _, _ in true }),
        Operation(name: "backup create", run: { _, dir in
            let path = dir + "/new.backup"
            if FileManager.default.fileExists(atPath: path) { return }
            _ = try Backup.create(try Repository.open(at: dir + "/ws"), to: path)
        }, check: { _, dir in try Backup.verify(dir + "/new.backup", passphrase: nil).isClean }),
        Operation(name: "restore", run: { t, dir in
            let target = dir + "/restored"
            if (try? Repository.open(at: target)) != nil { return }
            _ = try Backup.restore(t.root + "/ws.backup", to: target, passphrase: nil)
        }, check: { _, dir in try threadCount(dir + "/restored") == 1 }),
        Operation(name: "bundle apply", run: { t, dir in
            _ = try SyncEngine(try Repository.open(at: dir + "/ws")).applyBundle(t.root + "/peer.bundle")
        }, check: { _, dir in try threadCount(dir + "/ws") == 2 }),
        Operation(name: "sync", run: { _, dir in
            _ = try SyncEngine(try Repository.open(at: dir + "/ws")).sync(with: try Repository.open(at: dir + "/peer"))
        }, check: { _, dir in try threadCount(dir + "/ws") == 2 && threadCount(dir + "/peer") == 2 }),
    ]

    static let template = Result { try Template() }

    /// An error a person can act on: one of the engine's typed errors with a message.
    static func isClear(_ error: any Error) -> Bool {
        let text: String
        switch error {
        case let e as StoreError: text = e.description
        case let e as MessagingError: text = e.description
        case let e as SyncError: text = e.description
        case let e as BackupError: text = e.description
        case let e as ManifestError: text = e.description
        default: return false
        }
        return !text.isEmpty
    }

    /// Every store in the trial opens, passes fsck, and still holds what was acknowledged.
    static func checkStores(_ template: Template, _ dir: String, context: String) throws {
        for name in ["ws", "peer", "restored"] where FileManager.default.fileExists(atPath: dir + "/" + name + "/config.xml") {
            let repository = try Repository.open(at: dir + "/" + name)
            let report = try repository.fsck()
            #expect(report.isClean, "\(context): fsck of \(name): \(report.problems)")
            if name != "peer" {
                #expect(try repository.threadView(template.thread).messages.count >= 1, "\(context): acknowledged thread lost in \(name)")
            }
        }
    }

    /// `swift test` walks every 4th point (a different residue per operation, so together they
    /// cover every class of point); `SATCHEL_FAULT_WALK=full swift test --filter FaultWalkTests`
    /// walks every point (docs/RELIABILITY.md has its figures).
    static let stride = ProcessInfo.processInfo.environment["SATCHEL_FAULT_WALK"] == "full" ? 1 : 4

    @Test(arguments: operations.enumerated().map { $0 })
    func everyFaultPoint(_ index: Int, _ operation: Operation) throws {
        let template = try Self.template.get()
        var n = 1 + index % Self.stride
        var walked = 0
        let errnos: [Errno] = [.ioError, .noSpace]
        while n < 400 {
            let dir = try template.copy()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let plan = FaultPlan(point: nil, nth: n, action: .fail(errnos[n % 2]))
            var thrown: (any Error)?
            let (_, session) = FaultInjection.withPlan(plan) {
                do { try operation.run(template, dir) } catch { thrown = error }
            }
            let context = "\(operation.name) with \(plan)"
            if let thrown { #expect(Self.isClear(thrown), "\(context): unclear error \(thrown)") }
            if !session.fired {
                #expect(thrown == nil, "\(context): failed without a fault: \(String(describing: thrown))")
                #expect(try operation.check(template, dir), "\(context): no effect")
                break
            }
            try Self.checkStores(template, dir, context: context)
            // A retry without faults reaches the result.
            do { try operation.run(template, dir) } catch {
                Issue.record("\(context): retry failed: \(error)")
            }
            #expect(try operation.check(template, dir),
                    "\(context): retry has no effect (threads: ws \((try? Self.threadCount(dir + "/ws")) ?? -1), peer \((try? Self.threadCount(dir + "/peer")) ?? -1))")
            try Self.checkStores(template, dir, context: context + " then retry")
            n += Self.stride
            walked += 1
        }
        print("fault walk: \(operation.name): \(walked) faults injected, \(n - 1) points passed")
        #expect(walked > 0, "\(operation.name): no fault point at all?")
        #expect(n < 400, "\(operation.name): walk did not end")
    }

    @Test func environmentPlanParses() {
        #expect(FaultPlan(parsing: "op=fsync,nth=3,errno=EIO") == FaultPlan(point: .fsync, nth: 3, action: .fail(.ioError)))
        #expect(FaultPlan(parsing: "op=any,nth=1,errno=kill") == FaultPlan(point: nil, nth: 1, action: .kill))
        #expect(FaultPlan(parsing: "op=rename,nth=2,errno=ENOSPC")?.action == .fail(.noSpace))
        #expect(FaultPlan(parsing: "op=nope,nth=2,errno=EIO") == nil)
        #expect(FaultPlan(parsing: "op=write,nth=0,errno=EIO") == nil)
    }
}

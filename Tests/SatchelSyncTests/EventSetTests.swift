import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import Testing
@testable import SatchelSync

/// Threads as sets of immutable events (issue #10): the scenarios that wedged or diverged with
/// flag registers, identity that never changes, quarantine instead of a failed sync, and
/// incremental bundles that leave out what the peer has.
@Suite struct EventSetTests {
    /// Syncs every pair until nothing moves, then checks all thread heads are byte-identical.
    static func exchangeAll(_ stores: [Repository]) throws {
        for _ in 0..<2 {
            for i in stores.indices {
                for j in stores.indices where i < j { _ = try SyncEngine(stores[i]).sync(with: stores[j]) }
            }
        }
        let heads = try stores.map { try Clinic.heads($0) }
        for h in heads.dropFirst() { #expect(h == heads[0]) }
    }

    /// Issue #10, item 1: a laptop closes and syncs; staff on the portal reopen; the patient
    /// replies. Both directions sync, the reply is on both stores and the thread is open.
    @Test func closeThenReopenThenPatientReplySyncsBothWays() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        let sent = try compose(laptop)
        try laptop.close(thread: sent.thread, as: "s1")
        _ = try SyncEngine(laptop).sync(with: portal)
        try portal.reopen(thread: sent.thread, as: "s2")
        let reply = try portal.reply(thread: sent.thread, as: "u1", body: .text("Thanks, see you Monday"))
        let first = try SyncEngine(laptop).exchange(with: portal)
        #expect(first.quarantined.isEmpty)
        let second = try SyncEngine(portal).exchange(with: laptop)
        #expect(second.quarantined.isEmpty)
        for store in [laptop, portal] {
            let view = try store.threadView(sent.thread)
            #expect(view.summary.status == .open)
            #expect(view.messages.map(\.message).contains(reply.message))
            #expect(view.quarantined.isEmpty)
            #expect(view.events.map(\.kind) == [.message, .close, .reopen, .message])
            #expect(view.events.map(\.by) == ["s1", "s1", "s2", "u1"])
        }
        #expect(try Clinic.heads(laptop) == Clinic.heads(portal))
    }

    /// Issue #10, item 2: A closes offline; B closes and later reopens. A's close and B's reopen
    /// are concurrent, so the thread ends closed, whether or not B synced in between.
    @Test(arguments: [false, true])
    func concurrentCloseBeatsReopenWhateverTheSyncTiming(bSyncsInBetween: Bool) throws {
        let clinic = Clinic()
        let a = try clinic.store("a", .workstation)
        let b = try clinic.store("b", .workstation)
        let portal = try clinic.store("portal", .portal)
        let sent = try compose(a)
        try Self.exchangeAll([a, b, portal])
        try a.close(thread: sent.thread, as: "s1")
        try b.close(thread: sent.thread, as: "s2")
        if bSyncsInBetween { _ = try SyncEngine(b).sync(with: portal) }
        try b.reopen(thread: sent.thread, as: "s2")
        try Self.exchangeAll([a, b, portal])
        for store in [a, b, portal] {
            let (_, thread) = try store.thread(sent.thread)
            #expect(thread.status == .closed)
            #expect(thread.conflicts.map(\.value) == ["open"])
        }
    }

    /// Replies off on one replica, on on another, concurrently: off wins; a later "on" that saw
    /// both turns them on again.
    @Test func concurrentRepliesOffBeatsOnUntilSomeoneSawBoth() throws {
        let clinic = Clinic()
        let a = try clinic.store("a", .workstation)
        let portal = try clinic.store("portal", .portal)
        let sent = try compose(a)
        _ = try SyncEngine(a).sync(with: portal)
        try a.setReplies(false, thread: sent.thread, as: "s1")
        _ = try SyncEngine(a).sync(with: portal)
        try portal.setReplies(true, thread: sent.thread, as: "s2")
        try a.setReplies(false, thread: sent.thread, as: "s1")  // no-op: already off here
        try a.close(thread: sent.thread, as: "s1")
        try a.reopen(thread: sent.thread, as: "s1")
        _ = try SyncEngine(a).sync(with: portal)
        #expect(try a.thread(sent.thread).thread.allowReplies == true)
        #expect(try portal.thread(sent.thread).thread.allowReplies == true)
        // A patient reply written now is legitimate, and accepted on the laptop.
        let reply = try portal.reply(thread: sent.thread, as: "u1", body: .text("ok"))
        let result = try SyncEngine(portal).exchange(with: a)
        #expect(result.quarantined.isEmpty)
        #expect(try a.threadView(sent.thread).messages.map(\.message).contains(reply.message))
    }

    /// A thread's identity never changes: a bundle that moves an existing thread to another
    /// patient is refused (65) and changes nothing.
    @Test func aBundleThatMovesAThreadToAnotherPatientIsRefused() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let forger = try clinic.store("forger", .workstation)
        let sent = try compose(laptop)
        _ = try SyncEngine(laptop).sync(with: forger)
        let (head, thread) = try forger.thread(sent.thread)
        let moved = try ThreadManifest(id: thread.id, patient: "p2", subject: thread.subject, created: thread.created,
                                       firstMessage: thread.firstMessage, initialAllowReplies: thread.initialAllowReplies,
                                       version: thread.version, events: thread.events)
        try forger.store.refs.update(RefName("threads/\(sent.thread)"), from: head,
                                     to: try forger.store.put(.manifest, moved.encoded()))
        let path = clinic.bundlePath()
        _ = try SyncEngine(forger).createBundle(for: laptop.replica, targetRole: .workstation, to: path, full: true)
        let before = Clinic.snapshot(laptop)
        #expect { try SyncEngine(laptop).applyBundle(path) } throws: { error in
            guard let error = error as? SyncError else { return false }
            return error.code == .badInput && error.message.contains("patient")
        }
        #expect(Clinic.snapshot(laptop) == before)
        #expect(try laptop.thread(sent.thread).thread.patient == "p1")
    }

    /// A patient reply that saw the close (only a faulty or hostile portal writes one) is
    /// quarantined: the apply succeeds, reports it, keeps it for staff, hides it from patients,
    /// and later syncs with that peer go on.
    @Test func aReplyWrittenAfterTheCloseIsQuarantinedAndSyncGoesOn() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        let sent = try compose(laptop)
        try laptop.close(thread: sent.thread, as: "s1")
        _ = try SyncEngine(laptop).sync(with: portal)
        // Forge a reply on the portal that saw the close (bypassing the portal's own rule).
        let (head, current) = try portal.thread(sent.thread)
        var thread = current
        let body = try portal.store.put(.blob, Array("late".utf8))
        let reply = MessageManifest(id: "M-late", thread: sent.thread, author: .init(id: "u1", kind: .portalUser), sent: .now(),
                                    subject: thread.subject, body: .init(object: body, format: .plain, length: 4),
                                    context: thread.version)
        let object = try portal.store.put(.manifest, reply.encoded())
        thread.append(.message("M-late", object: object, dot: thread.nextDot(on: portal.replica).dot, sent: reply.sent,
                               by: reply.author))
        try portal.store.refs.update(RefName("threads/\(sent.thread)"), from: head,
                                     to: try portal.store.put(.manifest, thread.encoded()))
        let result = try SyncEngine(portal).exchange(with: laptop)
        #expect(result.quarantined.map(\.message) == ["M-late"])
        #expect(result.quarantined.first?.reason.contains("closed") == true)
        let staffView = try laptop.threadView(sent.thread)
        #expect(staffView.quarantined.map(\.message) == ["M-late"])
        #expect(!staffView.messages.map(\.message).contains("M-late"))
        #expect(try portal.threadView(sent.thread, as: "u1").messages.map(\.message) == [sent.message])
        // The patient's list neither counts nor dates by it (its existence is not theirs).
        let listed = try #require(try portal.threads(as: "u1").first { $0.thread == sent.thread })
        #expect(listed.messages == 1)
        #expect(listed == (try portal.threadView(sent.thread, as: "u1").summary))
        // The next sync with that peer works, and carries new work.
        let next = try compose(laptop, subject: "Follow-up")
        let again = try SyncEngine(laptop).exchange(with: portal)
        #expect(again.quarantined.isEmpty)
        #expect(try portal.threadView(next.thread).messages.count == 1)
        #expect(try Clinic.heads(laptop) == Clinic.heads(portal))
    }

    /// A thread started by a portal user is stored, quarantined, and never shown to patients.
    @Test func aPatientStartedThreadIsQuarantined() throws {
        let clinic = Clinic()
        let portal = try clinic.store("portal", .portal)
        let laptop = try clinic.store("laptop", .workstation)
        let body = try portal.store.put(.blob, Array("hi".utf8))
        let message = MessageManifest(id: "M-forged", thread: "T-forged", author: .init(id: "u1", kind: .portalUser),
                                      sent: .now(), recipients: ["u1"], subject: "forged",
                                      body: .init(object: body, format: .plain, length: 2))
        let messageID = try portal.store.put(.manifest, message.encoded())
        let thread = ThreadManifest(id: "T-forged", patient: "p1", subject: "forged", created: message.sent, allowReplies: true,
                                    firstMessage: "M-forged", object: messageID, replica: portal.replica, by: message.author)
        try portal.store.refs.update(RefName("threads/T-forged"), from: nil, to: try portal.store.put(.manifest, thread.encoded()))
        let path = clinic.bundlePath()
        _ = try SyncEngine(portal).createBundle(for: laptop.replica, targetRole: .workstation, to: path)
        let result = try SyncEngine(laptop).applyBundle(path)
        #expect(result.quarantined.map(\.message) == ["M-forged"])
        #expect(try laptop.threadView("T-forged").quarantined.count == 1)
        #expect { try laptop.threadView("T-forged", as: "u1") } throws: { ($0 as? MessagingError)?.code == .notFound }
        #expect(try laptop.threads(as: "u1").isEmpty)
    }

    /// Incremental bundles leave out what the peer has acknowledged: after a bulk send with a
    /// 4 MiB attachment has been synced, a bundle with 10 replies is small.
    @Test func incrementalBundleLeavesOutWhatThePeerHas() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        let patients = 300
        try Self.importDirectory(patients: patients, into: [laptop, portal])
        var generator = SystemRandomNumberGenerator()
        let file = clinic.root + "/results.bin"
        try Data((0..<(4 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            .write(to: URL(fileURLWithPath: file))
        var request = ComposeRequest(author: "s1")
        request.bulk = .activePatients
        request.subject = "Results"
        request.body = .text("Your results are attached.")
        request.attachments = [.file(path: file)]
        let bulk = try laptop.send(request)
        #expect(bulk.threads.count == patients)
        _ = try SyncEngine(laptop).sync(with: portal)
        for sent in bulk.threads.prefix(10) {
            _ = try laptop.reply(thread: sent.thread, as: "s2", body: .text("Please call us to discuss."))
        }
        let path = clinic.bundlePath()
        let summary = try SyncEngine(laptop).createBundle(for: portal.replica, to: path)
        #expect(!summary.full)
        #expect(summary.threads == 10)
        #expect(summary.bytes < 64 << 10, "incremental bundle is \(summary.bytes) B")
        let applied = try SyncEngine(portal).applyBundle(path)
        #expect(applied.fastForwarded == 10)
        #expect(try Clinic.heads(laptop) == Clinic.heads(portal))
    }

    /// A receiver that lacks a prerequisite gets a clear error naming it (65), and a full
    /// bundle works.
    @Test func aMissingPrerequisiteIsNamedAndAFullBundleWorks() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        let sent = try compose(laptop)
        _ = try SyncEngine(laptop).sync(with: portal)
        _ = try laptop.reply(thread: sent.thread, as: "s2", body: .text("More"))
        // A second portal that never got the first bundle, but claims the same replica's checkpoint.
        let path = clinic.bundlePath()
        _ = try SyncEngine(laptop).createBundle(for: portal.replica, to: path)
        let stranger = try clinic.store("stranger", .portal)
        try FileManager.default.removeItem(atPath: stranger.store.root)
        try FileManager.default.copyItem(atPath: portal.store.root, toPath: stranger.store.root)
        let copy = try Repository.open(at: stranger.store.root)
        try copy.store.refs.update(RefName("threads/\(sent.thread)"), from: try copy.store.refs.read(RefName("threads/\(sent.thread)")), to: nil)
        let message = try #require(try portal.thread(sent.thread).thread.messages.first)
        let hex = String(message.object.description.dropFirst("sha256:".count))
        let loose = copy.store.root + "/objects/" + String(hex.prefix(2)) + "/" + String(hex.dropFirst(2))
        try #require(FileManager.default.fileExists(atPath: loose))
        try FileManager.default.removeItem(atPath: loose)
        #expect { try SyncEngine(copy).applyBundle(path) } throws: { error in
            guard let error = error as? SyncError else { return false }
            return error.code == .missingPrerequisite && error.message.contains(message.object.short) && error.message.contains("--full")
        }
        let full = clinic.bundlePath()
        _ = try SyncEngine(laptop).createBundle(for: portal.replica, to: full, full: true)
        _ = try SyncEngine(copy).applyBundle(full)
        #expect(try copy.threadView(sent.thread).messages.count == 2)
    }

    /// Version 1 heads (flag registers) are still read; two replicas' version 1 heads of one
    /// thread convert to the same identity and merge by union, in either order.
    @Test func versionOneHeadsAreReadAndMerge() throws {
        let object = "sha256:" + String(repeating: "ab", count: 32)
        func v1(status: String, replica: String, version: String) -> [UInt8] {
            Array("""
                <thread xmlns="urn:satchel:thread:1" created="2026-05-01T10:00:00Z" id="T1" patient="p1">\
                <subject>S</subject><status counter="1" replica="\(replica)" value="\(status)"/>\
                <allowReplies counter="1" replica="w1" value="false"/><version>\(version)</version>\
                <message id="M1" object="\(object)" sent="2026-05-01T10:00:00Z"/></thread>
                """.utf8)
        }
        let a = try ThreadManifest.decode(v1(status: "open", replica: "w1", version: #"<counter replica="w1" value="1"/>"#))
        let b = try ThreadManifest.decode(v1(status: "closed", replica: "w2",
                                             version: #"<counter replica="w1" value="1"/><counter replica="w2" value="1"/>"#))
        #expect(a.initialAllowReplies == false && b.initialAllowReplies == false)
        #expect(a.status == .open && b.status == .closed)
        let ab = try ThreadMerge.merge(a, b), ba = try ThreadMerge.merge(b, a)
        #expect(try ab.encoded() == ba.encoded())
        #expect(ab.status == .closed)
        #expect(ab.allowReplies == false)
        #expect(ab.messages.map(\.id) == ["M1"])
        // Re-read from its version 2 bytes, the merged head is the same value.
        #expect(try ThreadManifest.decode(ab.encoded()) == ab)
    }

    static func importDirectory(patients: Int, into stores: [Repository]) throws {
        var xml = """
            <directory xmlns="urn:satchel:directory:1"><settings defaultAllowReplies="true">\
            <notificationTemplate id="e" channel="email">New secure message: {{link}}</notificationTemplate></settings>\
            <staff id="s1" name="Dr. Ada Shaw"><permission name="sendBulkPortalMessage"/></staff><staff id="s2" name="Nurse Ben"/>
            """
        for i in 0..<patients {
            xml += "<patient id=\"p\(i)\" name=\"Patient \(i)\" status=\"active\" email=\"p\(i)@example.org\" portalAccess=\"true\"/>"
        }
        for i in 0..<patients {
            xml += "<portalUser id=\"u\(i)\" patient=\"p\(i)\" role=\"patient\" active=\"true\" name=\"Patient \(i)\"/>"
        }
        xml += "</directory>"
        for store in stores { try store.importDirectory(Array(xml.utf8)) }
    }
}

import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import Testing
@testable import SatchelSync

@Suite struct BundleTests {
    @Test func laptopToPortalAndBackConverges() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        let sent = try compose(laptop, bcc: ["nursing"])
        let toPortal = clinic.bundlePath()
        let summary = try SyncEngine(laptop).createBundle(for: portal.replica, targetRole: .portal, to: toPortal)
        #expect(summary.full && summary.threads == 1)
        let applied = try SyncEngine(portal).applyBundle(toPortal)
        #expect(applied.applied == 1)
        // Applying twice changes nothing.
        let before = Clinic.snapshot(portal)
        let again = try SyncEngine(portal).applyBundle(toPortal)
        #expect(again.unchanged == 1 && again.applied == 0)
        #expect(Clinic.snapshot(portal).filter { !$0.key.hasPrefix("changes") } == before.filter { !$0.key.hasPrefix("changes") })
        // The portal queued notifications for the new message.
        #expect(try portal.outbox().count == 3)  // u1 × email, sms (the patient's); u2 × their own email
        #expect(try Clinic.heads(portal) == Clinic.heads(laptop))
        let view = try portal.threadView(sent.thread, as: "u1")
        #expect(view.messages.first?.bcc == nil)
        // No envelope on a portal: the staff view says Bcc is not kept here (not "no Bcc").
        let staffView = try portal.threadView(sent.thread)
        #expect(staffView.bccKept == false && staffView.messages.first?.bcc == nil)
    }

    @Test func replyAndCloseConcurrentBothSurviveAndHeadsAreIdentical() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        let sent = try compose(laptop)
        _ = try SyncEngine(laptop).sync(with: portal)
        // Offline: the patient replies on the portal while staff close the thread on the laptop.
        let reply = try portal.reply(thread: sent.thread, as: "u1", body: .text("Thank you"))
        try laptop.close(thread: sent.thread, as: "s1")
        _ = try SyncEngine(laptop).sync(with: portal)
        let laptopHead = try laptop.thread(sent.thread), portalHead = try portal.thread(sent.thread)
        #expect(laptopHead.head == portalHead.head)
        #expect(laptopHead.thread.status == .closed)
        #expect(laptopHead.thread.messages.map(\.id).contains(reply.message))
        // Now closed: the patient can no longer reply.
        #expect { try portal.reply(thread: sent.thread, as: "u1", body: .text("again")) }
            throws: { ($0 as? MessagingError)?.code == .refused }
    }

    @Test func noChangeBundleIsTinyAndCheckpointsAdvanceOnlyAfterApply() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        for _ in 0..<5 { _ = try compose(laptop) }
        _ = try SyncEngine(laptop).sync(with: portal)
        _ = try SyncEngine(laptop).sync(with: portal)  // acks travel back
        let empty = clinic.bundlePath()
        let summary = try SyncEngine(laptop).createBundle(for: portal.replica, to: empty)
        #expect(!summary.full && summary.threads == 0 && summary.objects == 0)
        #expect(summary.bytes < 1024)
        // One new thread: the bundle carries just it.
        _ = try compose(laptop, patient: "p2")
        let one = clinic.bundlePath()
        let next = try SyncEngine(laptop).createBundle(for: portal.replica, to: one)
        #expect(next.threads == 1 && !next.full)
        // A bundle created but never applied does not move the checkpoint: the next one still
        // carries the change.
        let again = try SyncEngine(laptop).createBundle(for: portal.replica, to: clinic.bundlePath())
        #expect(again.threads == 1)
    }

    @Test func aBundleThatSkipsChangesIsRefused() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        _ = try compose(laptop)
        _ = try SyncEngine(laptop).sync(with: portal)
        _ = try SyncEngine(laptop).sync(with: portal)
        _ = try compose(laptop, patient: "p2")
        let lost = clinic.bundlePath()
        _ = try SyncEngine(laptop).createBundle(for: portal.replica, to: lost)
        // Pretend the portal acknowledged it (it never applied it), then make the next bundle.
        let checkpointRef = try RefName("sync/peers/\(portal.replica)")
        var checkpoint = try #require(try laptop.checkpoint(for: portal.replica))
        var value = checkpoint.value
        value.delivered = .init(epoch: value.delivered!.epoch, sequence: try laptop.store.refs.changeLog.lastSequence())
        let object = try laptop.store.put(.manifest, value.encoded())
        try laptop.store.refs.update(checkpointRef, from: checkpoint.id, to: object)
        checkpoint = try #require(try laptop.checkpoint(for: portal.replica))
        _ = try compose(laptop, patient: "p1", subject: "third")
        let gap = clinic.bundlePath()
        _ = try SyncEngine(laptop).createBundle(for: portal.replica, to: gap)
        let before = Clinic.snapshot(portal)
        #expect { try SyncEngine(portal).applyBundle(gap) } throws: { ($0 as? SyncError)?.code == .missingPrerequisite }
        #expect(Clinic.snapshot(portal) == before)
        // The lost bundle, applied late, fills the gap; then the other applies.
        try SyncEngine(portal).applyBundle(lost)
        try SyncEngine(portal).applyBundle(gap)
        #expect(try Clinic.heads(portal) == Clinic.heads(laptop))
    }

    @Test func everyFlippedByteAndEveryTruncationIsRefusedAndChangesNothing() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        _ = try compose(laptop)
        let good = clinic.bundlePath()
        _ = try SyncEngine(laptop).createBundle(for: portal.replica, to: good)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        let before = Clinic.snapshot(portal)
        let bad = clinic.bundlePath("bad")
        // Every byte position (the bundle is small), one bit flipped.
        for position in 0..<bytes.count {
            var copy = bytes
            copy[position] ^= 0x01
            try copy.write(to: URL(fileURLWithPath: bad))
            #expect(throws: SyncError.self) { try SyncEngine(portal).applyBundle(bad) }
        }
        for length in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 50)) {
            try bytes.prefix(length).write(to: URL(fileURLWithPath: bad))
            #expect(throws: SyncError.self) { try SyncEngine(portal).applyBundle(bad) }
        }
        #expect(Clinic.snapshot(portal) == before)
        #expect(try portal.store.refs.list(prefix: "threads/").isEmpty)
    }

    /// Manifests past the memory budget wait in a scratch file and come back in order: the
    /// bundle is the same as one written with everything in memory, and no scratch file stays.
    @Test func manifestsPastTheMemoryBudgetAreSpooledAndTheBundleIsTheSame() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        for i in 0..<6 { _ = try compose(laptop, patient: i % 2 == 0 ? "p1" : "p2", subject: "Lab results \(i)") }
        let inMemory = clinic.bundlePath("memory"), spooled = clinic.bundlePath("spooled")
        _ = try SyncEngine(laptop).createBundle(for: portal.replica, targetRole: nil, to: inMemory, targetHas: nil, targetRef: nil,
                                                full: true, progress: nil, manifestBudget: Int.max)
        _ = try SyncEngine(laptop).createBundle(for: portal.replica, targetRole: nil, to: spooled, targetHas: nil, targetRef: nil,
                                                full: true, progress: nil, manifestBudget: 0)
        let a = try BundleFile.open(inMemory), b = try BundleFile.open(spooled)
        defer { a.close(); b.close() }
        #expect(a.packLength == b.packLength)
        let packA = clinic.bundlePath("packA"), packB = clinic.bundlePath("packB")
        try a.copyPack(to: packA)
        try b.copyPack(to: packB)
        #expect(try Data(contentsOf: URL(fileURLWithPath: packA)) == Data(contentsOf: URL(fileURLWithPath: packB)))
        #expect(try FileManager.default.contentsOfDirectory(atPath: laptop.store.root + "/tmp").isEmpty)
        _ = try SyncEngine(portal).applyBundle(spooled)
        #expect(try Clinic.heads(portal) == Clinic.heads(laptop))
    }

    @Test func portalNeverHoldsBccOrDrafts() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        _ = try compose(laptop, bcc: ["nursing"])
        var draft = ComposeRequest(author: "s1")
        draft.subject = "Secret draft subject"
        draft.body = .text("draft body text zebra")
        _ = try laptop.saveDraft(draft)
        _ = try SyncEngine(laptop).sync(with: portal)
        _ = try SyncEngine(laptop).sync(with: portal)
        // Inflate every object on the portal (except the directory it imported itself, which
        // names staff and lists, and its contact index made from it) and search for staff-only content.
        let directory = try portal.store.refs.list().filter {
            $0.name.rawValue == "directory" || $0.name.rawValue == "directory-settings" || $0.name.rawValue.hasPrefix("contacts/")
        }.map(\.id)
        for id in try portal.store.allObjectIDs() where !directory.contains(id) {
            let text = String(decoding: try portal.store.read(id, limit: 1 << 30).bytes, as: UTF8.self)
            for secret in ["nursing", "\"s3\"", "\"s2\"", "zebra", "Secret draft", "urn:satchel:envelope", "urn:satchel:draft"] {
                #expect(!text.contains(secret), "portal object \(id.short) contains \(secret)")
            }
        }
        #expect(try portal.store.refs.list(prefix: "envelopes/").isEmpty)
        #expect(try portal.store.refs.list(prefix: "drafts/").isEmpty)
    }

    @Test func aPortalRefusesStaffOnlyDataEvenIfSentToIt() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        _ = try compose(laptop, bcc: ["nursing"])
        // A misconfigured laptop that believes the portal is a workstation.
        let wrong = clinic.bundlePath()
        _ = try SyncEngine(laptop).createBundle(for: portal.replica, targetRole: .workstation, to: wrong)
        let before = Clinic.snapshot(portal)
        #expect { try SyncEngine(portal).applyBundle(wrong) } throws: { ($0 as? SyncError)?.code == .refused }
        #expect(Clinic.snapshot(portal) == before)
    }

    @Test func workstationsExchangeStaffOnlyData() throws {
        let clinic = Clinic()
        let a = try clinic.store("a", .workstation)
        let b = try clinic.store("b", .workstation)
        let sent = try compose(a, bcc: ["nursing"])
        _ = try SyncEngine(a).sync(with: b)
        #expect(try b.threadView(sent.thread).messages.first?.bcc == ["s2", "s3"])
    }

    // A patient-started thread and a reply written after the close are quarantined, not
    // refused: EventSetTests.aPatientStartedThreadIsQuarantined and
    // aReplyWrittenAfterTheCloseIsQuarantinedAndSyncGoesOn.

    @Test func unknownCapabilityIsRefused() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        _ = try compose(laptop)
        let path = clinic.bundlePath()
        _ = try SyncEngine(laptop).createBundle(for: portal.replica, to: path)
        // Rewrite the header with an extra capability and a fresh checksum.
        let opened = try BundleFile.open(path)
        var header = opened.header
        let pack = clinic.bundlePath("pack")
        try opened.copyPack(to: pack)
        opened.close()
        header.capabilities.append("time-travel-2")
        let forged = clinic.bundlePath("forged")
        _ = try BundleFile.write(header: header, packPath: pack, to: forged)
        #expect { try SyncEngine(portal).applyBundle(forged) } throws: {
            ($0 as? SyncError)?.code == .badInput && "\($0)".contains("time-travel-2")
        }
    }
}

import Foundation
import SatchelManifest
@testable import SatchelMessaging
import SatchelStore
import Testing

/// Portal notifications: one entry per recipient and channel, a link and no PHI.
@Suite struct OutboxTests {
    @Test func portalQueuesOneEntryPerRecipientAndChannel() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        var req = request(subject: "Biopsy results", body: "Your biopsy shows no malignancy.")
        req.bulk = .all
        req.toStaff = ["s2"]
        let result = try portal.send(req)
        let outbox = try portal.outbox()
        let threadOf = Dictionary(uniqueKeysWithValues: result.threads.map { ($0.patient, $0.thread) })
        // p1 has email and cell (u1 uses them; u2, a representative, only their own email), p2
        // email only (u3), p5 cell only (u6).
        let expected: Set<String> = [
            "u1 email rosa@example.org", "u1 sms +15550100", "u2 email luis@example.org",
            "u3 email sam@example.org", "u6 sms +15550105",
        ]
        #expect(Set(outbox.map { "\($0.recipient) \($0.channel.rawValue) \($0.address)" }) == expected)
        #expect(outbox.count == expected.count)
        let directory = try portal.directory()
        for entry in outbox {
            let patient = try #require(directory.portalUsers.first { $0.id == entry.recipient }).patient
            #expect(entry.thread == threadOf[patient])
            #expect(entry.status == .pending)
            #expect(entry.text.contains(portal.link(toThread: entry.thread)))
            #expect(entry.text.hasPrefix(entry.channel == .email ? "Hello, you have" : "New secure message:"))
            for phi in ["Biopsy", "biopsy", "malignancy", "{{", "}}"] + Clinic.names + directory.patients.map(\.id) {
                #expect(!entry.text.contains(phi), "\(phi) in \(entry.text)")
            }
        }
    }

    @Test func staffRepliesNotifyThePatientPatientRepliesNotifyTheStaff() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        let thread = try onlyThread(try portal.send(request(to: ["u3"]))).thread
        #expect(try portal.outbox().map(\.recipient) == ["u3"])
        try portal.reply(thread: thread, as: "u3", body: .text("Thanks"))
        #expect(try portal.outbox().map(\.recipient).sorted() == ["s1", "u3"])  // s1 wrote to the patient
        try portal.reply(thread: thread, as: "s2", body: .text("You're welcome"))
        #expect(try portal.outbox().map(\.recipient).sorted() == ["s1", "u3", "u3"])
    }

    @Test func deliveryOutcomeIsRecorded() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        _ = try portal.send(request(to: ["u3"]))
        let entry = try #require(try portal.outbox().first)
        try portal.markNotification(entry.id, status: .sent)
        #expect(try portal.outbox().first?.status == .sent)
        expectRejected(.notFound, in: portal) { try portal.markNotification("N-nope", status: .failed) }
    }

    @Test func workstationQueuesNothing() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        var req = request()
        req.bulk = .all
        let thread = try ws.send(req).threads[0].thread
        try ws.reply(thread: thread, as: "s1", body: .text("More"))
        #expect(try ws.outbox().isEmpty)
        #expect(try ws.store.refs.list(prefix: "outbox/").isEmpty)
    }

    @Test func refusedSendOnAPortalQueuesNothing() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        expectRejected(.refused, in: portal) { try portal.send(request(to: ["u1", "u5"])) }
        #expect(try portal.outbox().isEmpty)
    }
}

@Suite struct ContactIndexTests {
    @Test func portalImportIndexesContactsAndReimportUpdatesThem() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        let directory = try portal.directory()
        let contacts = try portal.store.refs.list(prefix: "contacts/")
        #expect(contacts.count == directory.portalUsers.filter { user in directory.patients.contains { $0.id == user.patient } }.count
                + directory.staff.count)
        #expect(try portal.store.refs.read(Repository.settingsRef) != nil)
        // Notifications come from the index: the queued address follows a re-import.
        var changed = directory
        let index = try #require(changed.patients.firstIndex { $0.id == "p1" })
        changed.patients[index].email = "new-address@example.org"
        changed.portalUsers.removeAll { $0.id == "u2" }
        try portal.importDirectory(Array(try changed.encoded()))
        #expect(try portal.store.refs.read(Repository.contactRef("u2")) == nil)
        let partial = try #require(try portal.notificationDirectory(for: ["u1"]))
        #expect(partial.patients.map(\.email) == ["new-address@example.org"])
        #expect(partial.portalUsers.map(\.id) == ["u1"])
        #expect(partial.settings == changed.settings)
        // A workstation keeps no index.
        let ws = try clinic.workstation()
        #expect(try ws.store.refs.list(prefix: "contacts/").isEmpty)
    }
}

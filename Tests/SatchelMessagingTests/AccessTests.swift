import Foundation
import SatchelManifest
@testable import SatchelMessaging
import SatchelStore
import Testing

/// Issue #13: per-person contacts, access on every path, template rules, delivery, drafts.
@Suite struct AccessTests {
    /// The standard directory with `change` applied.
    static func directory(_ change: (inout Directory) -> Void) -> Directory {
        var directory = Clinic.standard()
        change(&directory)
        return directory
    }

    static func revoke(_ d: inout Directory) {
        d.patients[d.patients.firstIndex { $0.id == "p1" }!].portalAccess = false
    }

    static func addresses(_ repository: Repository) throws -> [String] {
        try repository.outbox().map { "\($0.recipient) \($0.channel.rawValue) \($0.address)" }.sorted()
    }

    // MARK: 1. Contacts

    @Test func representativeIsNotifiedOnlyAtTheirOwnAddress() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        _ = try portal.send(request(to: ["u2"]))
        #expect(try Self.addresses(portal) == ["u2 email luis@example.org"])
        // --patient p1: the patient's own portal user falls back to the patient's details; the
        // representative gets their own; nobody gets anyone else's.
        _ = try portal.send(request(patient: "p1"))
        #expect(try Self.addresses(portal) == ["u1 email rosa@example.org", "u1 sms +15550100",
                                               "u2 email luis@example.org", "u2 email luis@example.org"])
    }

    @Test func eachAddressAtMostOncePerMessageAndNotifyIsHonoured() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let directory = Self.directory { d in
            let u2 = d.portalUsers.firstIndex { $0.id == "u2" }!
            d.portalUsers[u2].email = "rosa@example.org"  // shares the patient's mailbox
            d.portalUsers[u2].cell = "+15550100"
            let u1 = d.portalUsers.firstIndex { $0.id == "u1" }!
            d.portalUsers[u1].notify = .sms
        }
        let portal = try clinic.repository(.portal, directory: directory)
        _ = try portal.send(request(patient: "p1"))
        #expect(try Self.addresses(portal) == ["u1 sms +15550100", "u2 email rosa@example.org"])
        // A representative without any address of their own cannot be messaged (named refusal);
        // with --patient they are skipped, not notified at the patient's address.
        let bare = Self.directory { d in
            let u2 = d.portalUsers.firstIndex { $0.id == "u2" }!
            d.portalUsers[u2].email = nil
        }
        let other = try clinic.repository(.portal, directory: bare, name: "bare")
        expectRejected(.refused, in: other, mentions: ["u2", "own"]) { try other.send(request(to: ["u2"])) }
        let result = try other.send(request(patient: "p1"))
        #expect(result.skipped.map(\.portalUser) == ["u2"])
        #expect(try Self.addresses(other) == ["u1 email rosa@example.org", "u1 sms +15550100"])
    }

    @Test func oldDirectoryFilesStillReadAndV1BytesAreKept() throws {
        let v1 = #"<directory xmlns="urn:satchel:directory:1"><settings defaultAllowReplies="true"/><patient cell="+15550100" email="a@example.org" id="p1" name="A" portalAccess="true" status="active"/><portalUser active="true" id="u1" name="A" patient="p1" role="patient"/></directory>"#
        let directory = try Directory.importFile(Array(v1.utf8))
        #expect(directory.portalUsers[0].email == nil && directory.portalUsers[0].notify == .both)
        #expect(Access(directory).addresses(of: "u1").map(\.address) == ["a@example.org", "+15550100"])
        let withContacts = #"<directory xmlns="urn:satchel:directory:1"><settings defaultAllowReplies="true"/><staff email="s@clinic.example" id="s1" name="S" notify="email"/><patient id="p1" name="A" portalAccess="true" status="active"/><portalUser active="true" cell="+15550111" id="u1" name="B" notify="sms" patient="p1" role="authorizedRepresentative"/></directory>"#
        let decoded = try Directory.importFile(Array(withContacts.utf8))
        #expect(decoded.portalUsers[0].cell == "+15550111" && decoded.portalUsers[0].notify == .sms)
        #expect(decoded.staff[0].email == "s@clinic.example")
        #expect(try Directory.decode(try decoded.encoded(), trust: .untrusted) == decoded)
        #expect(throws: ManifestError.self) {
            try Directory.importFile(Array(withContacts.replacingOccurrences(of: "notify=\"sms\"", with: "notify=\"pigeon\"").utf8))
        }
    }

    // MARK: 2. Access on every path

    @Test func revokedAccessRefusesEveryPathAndLosesNothing() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        var req = request(to: ["u1", "u2"])
        req.attachments = [.file(path: clinic.file("labs.pdf", "results"))]
        let sent = try onlyThread(try portal.send(req))
        let queued = try portal.outbox().count
        try portal.importDirectory(try Self.directory(Self.revoke).encoded())
        let threadsBefore = try portal.threads().map(\.thread)
        for user in ["u1", "u2"] {
            expectRejected(.refused, in: portal, mentions: [user, "p1", "portal access"]) { try portal.threads(as: user) }
            expectRejected(.refused, in: portal, mentions: ["p1"]) { try portal.threadView(sent.thread, as: user) }
            expectRejected(.refused, in: portal, mentions: ["p1"]) {
                try portal.reply(thread: sent.thread, as: user, body: .text("hi"))
            }
            expectRejected(.refused, in: portal, mentions: ["p1"]) {
                try portal.attachment(thread: sent.thread, message: sent.message, name: "labs.pdf", as: user)
            }
            expectRejected(.refused, in: portal, mentions: ["p1"]) {
                try portal.exportBody(thread: sent.thread, message: sent.message, as: user, to: clinic.root + "/out-\(user)")
            }
        }
        // A thread arriving for them (what bundle apply does) is stored but queues nothing.
        let message = try portal.load(MessageManifest.self, try portal.thread(sent.thread).thread.messages[0].object)
        let batch = try portal.store.batch()
        #expect(try portal.queueNotifications(for: [message], in: batch).isEmpty)
        batch.abandon()
        // Notifications queued before the revocation are held, not delivered.
        var handed: [String] = []
        let held = try portal.deliverOutbox(retryAfter: 0) { handed.append($0.notification) }
        #expect(handed.isEmpty && held.pending == queued)
        #expect(try portal.threads().map(\.thread) == threadsBefore)
        // Access returns: everything is there again.
        try portal.importDirectory(try Clinic.standard().encoded())
        #expect(try portal.threadView(sent.thread, as: "u1").messages.count == 1)
        let delivered = try portal.deliverOutbox(retryAfter: 0) { handed.append($0.notification) }
        #expect(delivered.sent == queued && handed.count == queued)
    }

    @Test func inactivePortalUserIsRefusedEverywhere() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        let sent = try onlyThread(try portal.send(request(to: ["u2"])))
        try portal.importDirectory(try Self.directory { d in
            d.portalUsers[d.portalUsers.firstIndex { $0.id == "u2" }!].active = false
        }.encoded())
        expectRejected(.refused, in: portal, mentions: ["u2", "inactive"]) { try portal.threads(as: "u2") }
        expectRejected(.refused, in: portal, mentions: ["u2", "inactive"]) { try portal.threadView(sent.thread, as: "u2") }
        expectRejected(.refused, in: portal, mentions: ["u2", "inactive"]) {
            try portal.reply(thread: sent.thread, as: "u2", body: .text("hi"))
        }
        // Staff still see the thread.
        #expect(try portal.threads(as: "s1").map(\.thread) == [sent.thread])
    }

    // MARK: 3. Templates and the portal URL

    @Test(arguments: [
        ("Dear Rosa Diaz, your HIV results are in: {{link}}", "a patient name"),
        ("Your HIV results are in", "{{link}}"),
        ("Message from dr. ada shaw: {{link}}", "a staff name"),
        ("Your lab results: {{link}}", "a message template subject"),
        ("Reply to luis@example.org {{link}}", "a contact detail"),
        ("Hello {{name}}: {{link}}", "unknown placeholder"),
        ("New message {{ link }}", "unknown placeholder"),
        (String(repeating: "x", count: 1001) + "{{link}}", "limit"),
    ])
    func badNotificationTemplateRefusesTheImport(text: String, reason: String) throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        let bad = Self.directory { d in d.settings.notificationTemplates[0].text = text }
        expectRejected(.invalidInput, in: portal, mentions: ["notification template default", reason]) {
            try portal.importDirectory(try bad.encoded())
        }
    }

    @Test func namesAreMatchedAsWholeWords() throws {
        #expect(NotificationTemplateRules.containsWord("dear al, see {{link}}", "al"))
        #expect(!NotificationTemplateRules.containsWord("please call: {{link}}", "al"))
        #expect(NotificationTemplateRules.containsWord("rosa diaz", "rosa diaz"))
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        let shortName = Self.directory { d in
            d.staff.append(.init(id: "s4", name: "Al"))
            d.settings.notificationTemplates[0].text = "Please call or sign in: {{link}}"
        }
        try portal.importDirectory(try shortName.encoded())
    }

    @Test func portalWithoutURLQueuesNothingUntilOneIsSet() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let path = clinic.root + "/bare-portal"
        let portal = try Repository.create(at: path, role: .portal)
        try portal.importDirectory(try Clinic.standard().encoded())
        expectRejected(.refused, in: portal, mentions: ["portal URL"]) { try portal.send(request(to: ["u1"])) }
        expectRejected(.usage, in: portal) { try Repository.setPortalURL("ftp://x", at: path) }
        let fixed = try Repository.setPortalURL(Clinic.link, at: path)
        _ = try fixed.send(request(to: ["u1"]))
        #expect(try fixed.outbox().allSatisfy { $0.text.contains(Clinic.link + "/messages/") })
        #expect(try Repository.open(at: path).config.portalURL == Clinic.link)
    }

    // MARK: 4. Delivery and staff notifications

    @Test func flakyGatewayEndsWithEveryNotificationSentOnceWithBackoff() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        var req = request()
        req.bulk = .all
        _ = try portal.send(req)
        let all = Set(try portal.outbox().map(\.id))
        var clock = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
        var sent: [String] = []
        var calls = 0
        // First run: every other hand-off fails; failures wait 60 s, then 120 s.
        let first = try portal.deliverOutbox(retryAfter: 60, now: { clock }) { n in
            calls += 1
            if calls % 2 == 0 { throw CancellationError() }
            sent.append(n.notification)
        }
        #expect(first.sent + first.failed == all.count && first.failed > 0 && first.pending == first.failed)
        let again = try portal.deliverOutbox(retryAfter: 60, now: { clock }) { _ in Issue.record("not due yet") }
        #expect(again.sent == 0 && again.pending == first.failed)
        let failed = try portal.outbox().filter { $0.status == .failed }
        #expect(failed.allSatisfy { $0.attempts == 1 && $0.retryAt == Timestamp(millisecondsSinceEpoch: clock.millisecondsSinceEpoch + 60_000) })
        while try portal.outbox().contains(where: { $0.status != .sent }) {
            clock = Timestamp(millisecondsSinceEpoch: clock.millisecondsSinceEpoch + 3_600_000)
            _ = try portal.deliverOutbox(retryAfter: 60, now: { clock }) { n in
                calls += 1
                if calls % 2 == 0 { throw CancellationError() }
                sent.append(n.notification)
            }
        }
        #expect(sent.count == all.count && Set(sent) == all)
        let final = try portal.deliverOutbox(retryAfter: 0) { _ in Issue.record("a sent notification was handed out again") }
        #expect(final == DeliveryResult(sent: 0, failed: 0, pending: 0))
        // --limit
        let limited = try clinic.repository(.portal, name: "limited")
        _ = try limited.send(req)
        let one = try limited.deliverOutbox(limit: 1) { _ in }
        #expect(one.sent == 1 && one.pending == all.count - 1)
    }

    @Test func deliveryUsesThePersonsCurrentAddress() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        _ = try portal.send(request(to: ["u2"]))
        #expect(try portal.outbox().map(\.address) == ["luis@example.org"])
        // The EHR corrects the representative's address before delivery.
        try portal.importDirectory(try Self.directory { d in
            d.portalUsers[d.portalUsers.firstIndex { $0.id == "u2" }!].email = "luis.new@example.org"
        }.encoded())
        var handed: [String] = []
        _ = try portal.deliverOutbox { handed.append($0.address) }
        #expect(handed == ["luis.new@example.org"])
        #expect(try portal.outbox().map(\.address) == ["luis.new@example.org"])
        // A workstation has nothing to deliver.
        #expect(try clinic.workstation().deliverOutbox { _ in Issue.record("nothing to send") } == DeliveryResult())
    }

    @Test func patientReplyNotifiesTheStaffWhoWroteWithALinkOnly() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        let thread = try onlyThread(try portal.send(request(to: ["u1"], subject: "Biopsy", body: "No malignancy."))).thread
        try portal.reply(thread: thread, as: "s2", body: .text("Also: call us."))
        let before = Set(try portal.outbox().map(\.id))
        try portal.reply(thread: thread, as: "u1", body: .text("Thanks, my biopsy question…"))
        let staff = try portal.outbox().filter { !before.contains($0.id) }
        #expect(staff.map { "\($0.recipient) \($0.channel.rawValue) \($0.address)" }.sorted()
                == ["s1 email ada@clinic.example", "s2 sms +15550200"])
        for entry in staff {
            #expect(entry.text.contains(portal.link(toThread: thread)))
            for phi in ["Biopsy", "biopsy", "malignancy", "Rosa", "u1", "p1"] { #expect(!entry.text.contains(phi)) }
        }
        // A workstation queues nothing.
        let ws = try clinic.workstation()
        _ = try ws.send(request(to: ["u1"]))
        #expect(try ws.outbox().isEmpty)
    }

    // MARK: 6. Views

    @Test func largeBodyGetsAMarkerAndCanBeFetched() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let big = String(repeating: "a", count: 4096)
        let sent = try onlyThread(try ws.send(request(to: ["u1"], body: big)))
        let view = try ws.threadView(sent.thread, as: "u1", inlineLimit: 1024)
        #expect(view.messages[0].bodyOmitted && view.messages[0].body.isEmpty && view.messages[0].bodySize == 4096)
        let out = clinic.root + "/body.txt"
        try ws.exportBody(thread: sent.thread, message: sent.message, as: "u1", to: out)
        #expect(FileManager.default.contents(atPath: out) == Data(big.utf8))
        #expect(try ws.threadView(sent.thread).messages[0].body == big)
        // Draft views too.
        let draftID = try ws.saveDraft(request(to: ["u1"], body: big))
        let (_, draft) = try ws.draft(draftID, as: "s1")
        let shown = try #require(try ws.draftBodyText(draft, inlineLimit: 1024))
        #expect(shown.text == nil && shown.size == 4096)
        try ws.exportDraftBody(draftID, as: "s1", to: clinic.root + "/draft-body.txt")
        #expect(FileManager.default.contents(atPath: clinic.root + "/draft-body.txt") == Data(big.utf8))
    }

    @Test func portalStaffViewSaysBccIsNotKept() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        let sent = try onlyThread(try portal.send(request(to: ["u1"])))
        let staffView = try portal.threadView(sent.thread, as: "s1")
        #expect(staffView.bccKept == false && staffView.messages.allSatisfy { $0.bcc == nil })
        #expect(try portal.threadView(sent.thread, as: "u1").bccKept == nil)
        let ws = try clinic.workstation()
        let local = try onlyThread(try ws.send(request(to: ["u1"])))
        #expect(try ws.threadView(local.thread).bccKept == true)
        #expect(try ws.threadView(local.thread).messages[0].bcc == [])
    }
}

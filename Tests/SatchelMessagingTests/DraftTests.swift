import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelTestSupport
import Testing

/// Drafts: save, list, show, update any field, detach, send later, discard; staff-only and
/// owned by their author.
@Suite struct DraftTests {
    @Test func saveListShowAndIncompleteDrafts() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        var req = request(to: ["u1"], subject: "Draft subject", body: "Draft body")
        req.attachments = [.file(path: clinic.file("a.pdf", "pdf"))]
        let id = try ws.saveDraft(req, now: Timestamp(millisecondsSinceEpoch: 1_000))
        let incomplete = try ws.saveDraft(ComposeRequest(author: "s2"), now: Timestamp(millisecondsSinceEpoch: 2_000))
        // s3 holds viewAllDrafts; s1 and s2 see their own.
        #expect(try ws.drafts(as: "s3").map(\.draft) == [incomplete, id])  // most recently updated first
        #expect(try ws.drafts(as: "s3").map(\.author) == ["s2", "s1"])
        #expect(try ws.drafts(as: "s1").map(\.draft) == [id])
        #expect(try ws.drafts(as: "s2").map(\.draft) == [incomplete])
        let (_, draft) = try ws.draft(id, as: "s1")
        #expect(draft.author == "s1")
        #expect(draft.recipients == ["u1"])
        #expect(draft.subject == "Draft subject")
        #expect(draft.attachments.map(\.name) == ["a.pdf"])
        #expect(try ws.store.read(try #require(draft.body).object).bytes == Array("Draft body".utf8))
        #expect(try ws.draft(incomplete, as: "s2").draft.subject == nil)
        #expect(try ws.threads().isEmpty)
    }

    @Test func draftsNameOnlyExistingPeopleListsAndTemplates() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        for (req, who) in [(request(to: ["u404"]), "u404"), (request(patient: "p404"), "p404")] {
            expectRejected(.notFound, in: ws, mentions: [who]) { try ws.saveDraft(req) }
        }
        var list = request()
        list.bccLists = ["surgery"]
        expectRejected(.notFound, in: ws, mentions: ["surgery"]) { try ws.saveDraft(list) }
        var template = request()
        template.template = "flu"
        expectRejected(.notFound, in: ws, mentions: ["flu"]) { try ws.saveDraft(template) }
    }

    @Test func updateChangesEveryField() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let id = try ws.saveDraft(request(to: ["u1"], subject: "One", body: "Body one"))
        var update = DraftUpdate()
        update.to = ["u3"]
        update.patient = "p1"
        update.toStaff = ["s2"]
        update.bulk = .dischargedPatients
        update.bccLists = ["nursing"]
        update.subject = "Two"
        update.body = .text("Body two")
        update.addAttachments = [.file(path: clinic.file("scan.pdf", "scan")), .file(path: clinic.file("scan2.pdf", "x"), name: "scan.pdf")]
        update.allowReplies = false
        update.template = "labs"
        try ws.updateDraft(id, as: "s1", update)
        let (_, draft) = try ws.draft(id, as: "s1")
        #expect(draft.recipients == ["u3"])
        #expect(draft.patient == "p1")
        #expect(draft.toStaff == ["s2"])
        #expect(draft.bulk == .dischargedPatients)
        #expect(draft.bccLists == ["nursing"])
        #expect(draft.subject == "Two")
        #expect(try ws.store.read(try #require(draft.body).object).bytes == Array("Body two".utf8))
        #expect(draft.attachments.map(\.name) == ["scan.pdf", "scan (2).pdf"])
        #expect(draft.allowReplies == false)
        #expect(draft.template == "labs")
        #expect(draft.version[ws.replica] == 2)
        // A field not given stays as it was.
        var subjectOnly = DraftUpdate()
        subjectOnly.subject = "Three"
        try ws.updateDraft(id, as: "s1", subjectOnly)
        let (_, again) = try ws.draft(id, as: "s1")
        #expect(again.subject == "Three" && again.recipients == ["u3"] && again.attachments.count == 2)
    }

    @Test func updateToUnknownNamesIsRefusedAndChangesNothing() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let id = try ws.saveDraft(request(to: ["u1"]))
        var update = DraftUpdate()
        update.toStaff = ["s404"]
        expectRejected(.notFound, in: ws, mentions: ["s404"]) { try ws.updateDraft(id, as: "s1", update) }
        expectRejected(.notFound, in: ws, mentions: ["D-nope"]) { try ws.updateDraft("D-nope", as: "s1", DraftUpdate()) }
    }

    @Test func detachRemovesAnAttachmentBeforeSending() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        var req = request(to: ["u1"])
        req.attachments = [.file(path: clinic.file("keep.pdf", "k")), .file(path: clinic.file("drop.pdf", "d"))]
        let id = try ws.saveDraft(req)
        try ws.detach(draft: id, name: "drop.pdf", as: "s1")
        #expect(try ws.draft(id, as: "s1").draft.attachments.map(\.name) == ["keep.pdf"])
        expectRejected(.notFound, in: ws, mentions: [id]) { try ws.detach(draft: id, name: "drop.pdf", as: "s1") }
        let sent = try onlyThread(try ws.sendDraft(id, as: "s1"))
        #expect(try ws.threadView(sent.thread).messages[0].attachments.map(\.name) == ["keep.pdf"])
    }

    @Test func sendLaterAppliesComposeRulesAndConsumesTheDraft() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        var req = request(patient: "p1", subject: nil, body: nil)
        req.template = "labs"
        req.bccLists = ["nursing"]
        req.allowReplies = false
        req.attachments = [.file(path: clinic.file("labs.pdf", randomBytes(4096, seed: 1)))]
        let id = try ws.saveDraft(req)
        let result = try ws.sendDraft(id, as: "s1")
        let sent = try onlyThread(result)
        #expect(sent.recipients == ["u1", "u2"])
        let view = try ws.threadView(sent.thread)
        #expect(view.summary.subject == "Your lab results")
        #expect(view.summary.allowReplies == false)
        #expect(view.messages[0].body == "Your results are ready.")
        #expect(view.messages[0].bcc == ["s2"])
        #expect(view.messages[0].attachments.map(\.name) == ["labs.pdf"])
        #expect(try ws.drafts(as: "s1").isEmpty)
        expectRejected(.notFound, in: ws, mentions: [id]) { try ws.draft(id, as: "s1") }
    }

    @Test func anIncompleteOrIneligibleDraftIsNotSentAndIsKept() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let noSubject = try ws.saveDraft(request(to: ["u1"], subject: nil))
        expectRejected(.usage, in: ws, mentions: ["subject"]) { try ws.sendDraft(noSubject, as: "s1") }
        let noRecipients = try ws.saveDraft(request())
        expectRejected(.usage, in: ws, mentions: ["recipients"]) { try ws.sendDraft(noRecipients, as: "s1") }
        let ineligible = try ws.saveDraft(request(to: ["u4"]))
        expectRejected(.refused, in: ws, mentions: ["u4"]) { try ws.sendDraft(ineligible, as: "s1") }
        var bulk = request("s3")
        bulk.bulk = .all
        let noPermission = try ws.saveDraft(bulk)
        expectRejected(.refused, in: ws, mentions: ["s3", "sendBulkPortalMessage"]) { try ws.sendDraft(noPermission, as: "s3") }
        #expect(try ws.drafts(as: "s3").count == 4)
    }

    @Test func discardRemovesTheDraft() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let id = try ws.saveDraft(request(to: ["u1"]))
        try ws.discardDraft(id, as: "s1")
        #expect(try ws.drafts(as: "s1").isEmpty)
        expectRejected(.notFound, in: ws) { try ws.discardDraft(id, as: "s1") }
        expectRejected(.notFound, in: ws) { try ws.sendDraft(id, as: "s1") }
    }

    @Test func draftsBelongToTheirAuthor() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let id = try ws.saveDraft(request(to: ["u1"]))
        var update = DraftUpdate()
        update.subject = "Hijacked"
        let mentions = [id, "s1", "s2"]
        expectRejected(.refused, in: ws, mentions: mentions) { try ws.draft(id, as: "s2") }
        expectRejected(.refused, in: ws, mentions: mentions) { try ws.updateDraft(id, as: "s2", update) }
        expectRejected(.refused, in: ws, mentions: mentions) { try ws.detach(draft: id, name: "x", as: "s2") }
        expectRejected(.refused, in: ws, mentions: mentions) { try ws.sendDraft(id, as: "s2") }
        expectRejected(.refused, in: ws, mentions: mentions) { try ws.discardDraft(id, as: "s2") }
        expectRejected(.refused, in: ws, mentions: [id]) { try ws.draft(id, as: "u1") }
        #expect(try ws.draft(id, as: "s1").draft.subject == "Follow-up")
        // Other staff see neither subjects nor bodies in a list…
        #expect(try ws.drafts(as: "s2").isEmpty)
        // …unless they hold viewAllDrafts, which lets them read (not change, send or discard).
        #expect(try ws.draft(id, as: "s3").draft.subject == "Follow-up")
        #expect(try ws.drafts(as: "s3").map(\.draft) == [id])
        expectRejected(.refused, in: ws, mentions: [id, "s3"]) { try ws.updateDraft(id, as: "s3", update) }
        expectRejected(.refused, in: ws, mentions: [id, "s3"]) { try ws.sendDraft(id, as: "s3") }
        expectRejected(.notFound, in: ws, mentions: ["s404"]) { try ws.drafts(as: "s404") }
    }

    @Test func draftsAreRefusedOnAPortal() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        expectRejected(.refused, in: portal, mentions: ["drafts", "workstation"]) { try portal.saveDraft(request(to: ["u1"])) }
        expectRejected(.refused, in: portal, mentions: ["workstation"]) { try portal.draft("D-0000", as: "s1") }
        expectRejected(.refused, in: portal, mentions: ["workstation"]) { try portal.sendDraft("D-0000", as: "s1") }
        expectRejected(.refused, in: portal, mentions: ["workstation"]) { try portal.discardDraft("D-0000", as: "s1") }
        expectRejected(.refused, in: portal, mentions: ["workstation"]) { try portal.updateDraft("D-0000", as: "s1", DraftUpdate()) }
        expectRejected(.refused, in: portal, mentions: ["workstation"]) { try portal.detach(draft: "D-0000", name: "a", as: "s1") }
        #expect(try portal.drafts(as: "s1").isEmpty)
    }
}

import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelTestSupport
import Testing

/// Compose: who may start a thread, who may receive one, and every compose option.
@Suite struct ComposeTests {
    @Test func staffSendCreatesOneOpenThreadForThePatient() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let sent = try onlyThread(try ws.send(request(to: ["u1"])))
        #expect(sent.patient == "p1")
        #expect(sent.recipients == ["u1"])
        let view = try ws.threadView(sent.thread)
        #expect(view.summary.status == .open)
        #expect(view.summary.allowReplies)
        #expect(view.summary.subject == "Follow-up")
        #expect(view.messages.map(\.message) == [sent.message])
        #expect(view.messages[0].author == "s1")
        #expect(view.messages[0].authorKind == .staff)
        #expect(view.messages[0].body == "Please call us.")
        #expect(view.summary.version == [ws.replica: 1])
    }

    @Test(arguments: [("u1", "portal user u1"), ("u2", "portal user u2")])
    func onlyStaffStartThreads(author: String, mention: String) throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        for repository in [try clinic.workstation(), try clinic.portal()] {
            expectRejected(.refused, in: repository, mentions: [mention, "only clinic staff"]) {
                try repository.send(request(author, to: ["u1"]))
            }
        }
        let ws = try clinic.repository(.workstation, name: "other")
        expectRejected(.refused, in: ws, mentions: [mention]) { try ws.saveDraft(request(author, to: ["u1"])) }
    }

    @Test func unknownAuthorIsNotFound() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        expectRejected(.notFound, in: ws, mentions: ["nobody"]) { try ws.send(request("nobody", to: ["u1"])) }
    }

    /// A named recipient who cannot receive portal messages is refused, naming who and why.
    @Test(arguments: [
        ("u4", ["u4", "p3", "no email or cellphone"]),
        ("u5", ["u5", "p4", "no portal access"]),
        ("u9", ["u9", "inactive"]),
        ("u7", ["u7", "inactive"]),
    ])
    func ineligibleRecipientIsRefused(user: String, mentions: [String]) throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        expectRejected(.refused, in: ws, mentions: mentions) { try ws.send(request(to: ["u1", user])) }
    }

    @Test(arguments: [("p3", "no email or cellphone"), ("p4", "no portal access")])
    func ineligiblePatientIsRefused(patient: String, reason: String) throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        expectRejected(.refused, in: ws, mentions: [patient, reason]) { try ws.send(request(patient: patient)) }
    }

    @Test func unknownRecipientsAreNotFound() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        expectRejected(.notFound, in: ws, mentions: ["u404"]) { try ws.send(request(to: ["u404"])) }
        expectRejected(.notFound, in: ws, mentions: ["p404"]) { try ws.send(request(patient: "p404")) }
        var toStaff = request(to: ["u1"])
        toStaff.toStaff = ["s404"]
        expectRejected(.notFound, in: ws, mentions: ["s404"]) { try ws.send(toStaff) }
    }

    @Test func aMessageNeedsPortalRecipients() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        var onlyStaff = request()
        onlyStaff.toStaff = ["s2"]
        expectRejected(.usage, in: ws, mentions: ["recipients"]) { try ws.send(onlyStaff) }
    }

    @Test func patientOptionAddressesAllActivePortalUsersOfThatPatient() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let sent = try onlyThread(try ws.send(request(patient: "p1")))
        #expect(sent.patient == "p1")
        #expect(sent.recipients == ["u1", "u2"])  // u9 is inactive
    }

    @Test func patientWithoutActivePortalUserIsRefused() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        expectRejected(.refused, in: ws, mentions: ["p6"]) { try ws.send(request(patient: "p6")) }
    }

    @Test func recipientsOfTwoPatientsGetTwoThreads() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let result = try ws.send(request(to: ["u1", "u3", "u2"]))
        #expect(result.threads.map(\.patient) == ["p1", "p2"])
        #expect(result.threads.map(\.recipients) == [["u1", "u2"], ["u3"]])
        #expect(Set(result.threads.map(\.thread)).count == 2)
        #expect(result.skipped.isEmpty)
    }

    @Test func otherStaffInToAreRecordedWithThePatientsUsers() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        var req = request(patient: "p1")
        req.toStaff = ["s2", "s3"]
        let sent = try onlyThread(try ws.send(req))
        let message = try ws.threadView(sent.thread).messages[0]
        #expect(message.toStaff == ["s2", "s3"])
        #expect(message.recipients == ["u1", "u2"])
    }

    // MARK: Bulk

    @Test func bulkNeedsThePermission() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        var req = request("s3")
        req.bulk = .all
        expectRejected(.refused, in: ws, mentions: ["s3", "sendBulkPortalMessage"]) { try ws.send(req) }
    }

    @Test(arguments: [
        (DraftManifest.Bulk.activePatients, ["p1": ["u1", "u2"], "p5": ["u6"]],
         ["u9": "inactive", "u4": "no email or cellphone", "u5": "no portal access"]),
        (.dischargedPatients, ["p2": ["u3"]], ["u7": "inactive"]),
        (.all, ["p1": ["u1", "u2"], "p2": ["u3"], "p5": ["u6"]],
         ["u9": "inactive", "u4": "no email or cellphone", "u5": "no portal access", "u7": "inactive"]),
    ])
    func bulkSendsToEveryEligibleUserAndReportsTheSkipped(bulk: DraftManifest.Bulk, expected: [String: [String]],
                                                         skipped: [String: String]) throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        var req = request()
        req.bulk = bulk
        let result = try ws.send(req)
        let sent = Dictionary(uniqueKeysWithValues: result.threads.map { ($0.patient, $0.recipients) })
        #expect(sent == expected)
        #expect(Set(result.skipped.map(\.portalUser)) == Set(skipped.keys))
        for skip in result.skipped {
            #expect(skip.reason.contains(skipped[skip.portalUser] ?? "?"), "\(skip)")
        }
        #expect(try ws.threads().count == expected.count)
    }

    @Test func bulkWithNobodyEligibleIsRefused() throws {
        var directory = Clinic.standard()
        directory.patients = directory.patients.map { var p = $0; p.portalAccess = false; return p }
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.repository(.workstation, directory: directory)
        var req = request()
        req.bulk = .all
        expectRejected(.refused, in: ws, mentions: ["no eligible recipients"]) { try ws.send(req) }
    }

    // MARK: Staff Bcc

    @Test func staffBccFromListsLivesOnlyInTheStaffEnvelope() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        var req = request(patient: "p1")
        req.bccLists = ["nursing", "admin"]
        let sent = try onlyThread(try ws.send(req))
        let staffView = try ws.threadView(sent.thread)
        #expect(staffView.messages[0].bcc == ["s2", "s3"])
        // The patient-visible message manifest has no trace of it.
        let (_, thread) = try ws.thread(sent.thread)
        let messageBytes = try ws.store.read(thread.messages[0].object).bytes
        let xml = String(decoding: messageBytes, as: UTF8.self)
        // Element and attribute names only: hex IDs in the manifest may contain "bcc" by chance.
        #expect(!xml.contains("<bcc") && !xml.contains("bcc=") && !xml.contains("nursing") && !xml.contains("\"s3\""))
        #expect(try ws.store.refs.list(prefix: "envelopes/\(sent.thread)/").count == 1)
    }

    @Test func withoutBccListsStaffSeeAnEmptyBccAndNoEnvelopeIsWritten() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let sent = try onlyThread(try ws.send(request(to: ["u1"])))
        #expect(try ws.threadView(sent.thread).messages[0].bcc == [])
        #expect(try ws.store.refs.list(prefix: "envelopes/").isEmpty)
    }

    @Test func unknownBccListIsNotFound() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        var req = request(to: ["u1"])
        req.bccLists = ["surgery"]
        expectRejected(.notFound, in: ws, mentions: ["surgery"]) { try ws.send(req) }
    }

    @Test func staffBccIsRefusedOnAPortal() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        var req = request(to: ["u1"])
        req.bccLists = ["nursing"]
        expectRejected(.refused, in: portal, mentions: ["Bcc", "workstation"]) { try portal.send(req) }
    }

    // MARK: Templates

    @Test func templateSuppliesSubjectAndBody() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        var req = request(to: ["u1"], subject: nil, body: nil)
        req.template = "labs"
        let message = try ws.threadView(try onlyThread(try ws.send(req)).thread).messages[0]
        #expect(message.subject == "Your lab results")
        #expect(message.body == "Your results are ready.")
    }

    @Test func explicitSubjectAndBodyOverrideTheTemplate() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        var subjectOnly = request(to: ["u1"], subject: "Lab results (corrected)", body: nil)
        subjectOnly.template = "labs"
        let first = try ws.threadView(try onlyThread(try ws.send(subjectOnly)).thread).messages[0]
        #expect(first.subject == "Lab results (corrected)")
        #expect(first.body == "Your results are ready.")
        var bodyOnly = request(to: ["u1"], subject: nil, body: "Your results are normal.")
        bodyOnly.template = "labs"
        let second = try ws.threadView(try onlyThread(try ws.send(bodyOnly)).thread).messages[0]
        #expect(second.subject == "Your lab results")
        #expect(second.body == "Your results are normal.")
    }

    @Test func unknownTemplateIsNotFoundAndSubjectAndBodyAreRequired() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        var req = request(to: ["u1"], subject: nil, body: nil)
        req.template = "flu"
        expectRejected(.notFound, in: ws, mentions: ["flu"]) { try ws.send(req) }
        expectRejected(.usage, in: ws, mentions: ["subject"]) { try ws.send(request(to: ["u1"], subject: nil)) }
        expectRejected(.usage, in: ws, mentions: ["subject"]) { try ws.send(request(to: ["u1"], subject: "  \n")) }
        expectRejected(.usage, in: ws, mentions: ["body"]) { try ws.send(request(to: ["u1"], body: nil)) }
    }

    // MARK: Allow replies

    @Test(arguments: [(true, nil, true), (false, nil, false), (false, true, true), (true, false, false)] as [(Bool, Bool?, Bool)])
    func allowRepliesDefaultsToTheDirectoryUnlessGiven(directoryDefault: Bool, explicit: Bool?, expected: Bool) throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.repository(.workstation, directory: Clinic.standard(defaultAllowReplies: directoryDefault))
        var req = request(to: ["u1"])
        req.allowReplies = explicit
        let sent = try onlyThread(try ws.send(req))
        #expect(try ws.threadView(sent.thread).summary.allowReplies == expected)
    }

    // MARK: Attachments and bodies

    @Test func attachmentsRecordNameMediaTypeSizeAndObjectAndExportIntact() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let bytes = randomBytes(300_000, seed: 7)
        let path = clinic.file("labs.pdf", bytes)
        var req = request(to: ["u1"])
        req.attachments = [.file(path: path), .file(path: clinic.file("notes.txt", "hello"), name: "Visit notes.TXT")]
        let sent = try onlyThread(try ws.send(req))
        let attachments = try ws.threadView(sent.thread).messages[0].attachments
        #expect(attachments.map(\.name) == ["labs.pdf", "Visit notes.TXT"])
        #expect(attachments.map(\.mediaType) == ["application/pdf", "text/plain"])
        #expect(attachments.map(\.size) == [300_000, 5])
        #expect(attachments[0].object == ObjectID.compute(kind: .blob, payload: bytes))
        let out = clinic.root + "/out.pdf"
        try ws.exportAttachment(try ws.attachment(thread: sent.thread, message: sent.message, name: "labs.pdf"), to: out)
        #expect(FileManager.default.contents(atPath: out) == Data(bytes))
        #expect(throws: MessagingError.self) { try ws.attachment(thread: sent.thread, message: sent.message, name: "x.pdf") }
    }

    @Test func missingAttachmentOrBodyFileIsNotFoundAndChangesNothing() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        var req = request(to: ["u1"])
        req.attachments = [.file(path: clinic.file("ok.pdf", "pdf")), .file(path: clinic.root + "/missing.pdf")]
        expectRejected(.notFound, in: ws, mentions: ["missing.pdf"]) { try ws.send(req) }
        var body = request(to: ["u1"])
        body.body = .file(path: clinic.root + "/missing.txt")
        expectRejected(.notFound, in: ws, mentions: ["missing.txt"]) { try ws.send(body) }
    }

    @Test func bodyFileIsStoredAsPlainText() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        var req = request(to: ["u1"])
        req.body = .file(path: clinic.file("body.txt", "Line one\nLine <b>two</b>\n"))
        let message = try ws.threadView(try onlyThread(try ws.send(req)).thread).messages[0]
        #expect(message.body == "Line one\nLine <b>two</b>\n")
        #expect(message.bodyFormat == .plain)
    }

    @Test func staffMayComposeOnAPortal() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        let sent = try onlyThread(try portal.send(request(patient: "p1")))
        #expect(try portal.threads().map(\.thread) == [sent.thread])
    }

    @Test func composeWithoutADirectoryIsNotFound() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try Repository.create(at: clinic.root + "/empty", role: .workstation)
        expectRejected(.notFound, in: ws, mentions: ["directory"]) { try ws.send(request(to: ["u1"])) }
    }
}

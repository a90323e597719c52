import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelTestSupport
import Testing

/// Replies, close and reopen: who may do what, where, and when.
@Suite struct ReplyTests {
    /// A portal store with one thread to p1 (recipients u1, u2) and one to p2 (u3).
    private func portalWithThreads(allowReplies: Bool? = nil) throws -> (Clinic, Repository, p1: String, p2: String) {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        var req = request(to: ["u1", "u2", "u3"])
        req.allowReplies = allowReplies
        let result = try portal.send(req)
        return (clinic, portal, result.threads[0].thread, result.threads[1].thread)
    }

    @Test func patientAndRepresentativeReplyToTheirOwnOpenThreadOnThePortal() throws {
        let (clinic, portal, p1, _) = try portalWithThreads()
        defer { withExtendedLifetime(clinic) {} }
        for user in ["u1", "u2"] {
            let reply = try portal.reply(thread: p1, as: user, body: .text("Thank you"))
            let message = try #require(try portal.threadView(p1).messages.last)
            #expect(message.message == reply.message)
            #expect(message.author == user)
            #expect(message.authorKind == .portalUser)
            #expect(message.toStaff == ["s1"])  // to the clinician who opened the thread
            #expect(message.recipients.isEmpty)
        }
        #expect(try portal.threadView(p1).summary.messages == 3)
    }

    @Test func portalUserRepliesAreRefusedOnAWorkstation() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let thread = try onlyThread(try ws.send(request(to: ["u1"]))).thread
        expectRejected(.refused, in: ws, mentions: ["u1", "portal store", "workstation"]) {
            try ws.reply(thread: thread, as: "u1", body: .text("hi"))
        }
    }

    @Test func portalUserMayNotReplyToAnotherPatientsThread() throws {
        let (clinic, portal, p1, p2) = try portalWithThreads()
        defer { withExtendedLifetime(clinic) {} }
        expectRejected(.refused, in: portal, mentions: ["u3", p1]) { try portal.reply(thread: p1, as: "u3", body: .text("hi")) }
        expectRejected(.refused, in: portal, mentions: ["u1", p2]) { try portal.reply(thread: p2, as: "u1", body: .text("hi")) }
    }

    @Test func portalUserMayNotReplyToAThreadTheyDidNotReceive() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        let thread = try onlyThread(try portal.send(request(to: ["u1"]))).thread  // not to u2
        expectRejected(.refused, in: portal, mentions: ["u2", "recipients"]) {
            try portal.reply(thread: thread, as: "u2", body: .text("hi"))
        }
    }

    @Test func closingStopsPatientRepliesAndReopeningRestoresThem() throws {
        let (clinic, portal, p1, _) = try portalWithThreads()
        defer { withExtendedLifetime(clinic) {} }
        try portal.close(thread: p1, as: "s2")
        #expect(try portal.threadView(p1).summary.status == .closed)
        expectRejected(.refused, in: portal, mentions: ["u1", "closed"]) { try portal.reply(thread: p1, as: "u1", body: .text("hi")) }
        // Staff may still write in a closed thread.
        try portal.reply(thread: p1, as: "s1", body: .text("Closing note"))
        try portal.reopen(thread: p1, as: "s1")
        #expect(try portal.threadView(p1).summary.status == .open)
        try portal.reply(thread: p1, as: "u1", body: .text("hi again"))
    }

    @Test func repliesNotAllowedRefusesPatients() throws {
        let (clinic, portal, p1, _) = try portalWithThreads(allowReplies: false)
        defer { withExtendedLifetime(clinic) {} }
        expectRejected(.refused, in: portal, mentions: ["u2", "replies are not allowed"]) {
            try portal.reply(thread: p1, as: "u2", body: .text("hi"))
        }
        try portal.reply(thread: p1, as: "s1", body: .text("Staff may still write"))
    }

    @Test func patientsCannotAttachFiles() throws {
        let (clinic, portal, p1, _) = try portalWithThreads()
        defer { withExtendedLifetime(clinic) {} }
        let file = clinic.file("photo.jpg", randomBytes(10_000, seed: 3))
        expectRejected(.refused, in: portal, mentions: ["u1", "attach"]) {
            try portal.reply(thread: p1, as: "u1", body: .text("see photo"), attachments: [.file(path: file)])
        }
    }

    @Test func inactivePortalUserIsRefused() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        var directory = Clinic.standard()
        let portal = try clinic.repository(.portal, directory: directory)
        let thread = try onlyThread(try portal.send(request(to: ["u1", "u2"]))).thread
        directory.portalUsers = directory.portalUsers.map { var u = $0; if u.id == "u2" { u.active = false }; return u }
        try portal.importDirectory(try directory.encoded())
        expectRejected(.refused, in: portal, mentions: ["u2", "inactive"]) { try portal.reply(thread: thread, as: "u2", body: .text("hi")) }
        expectRejected(.refused, in: portal, mentions: ["u9", "inactive"]) { try portal.reply(thread: thread, as: "u9", body: .text("hi")) }
    }

    @Test func staffReplyGoesToThePatientsActiveRecipientsWithAttachments() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let thread = try onlyThread(try ws.send(request(patient: "p1"))).thread
        let file = clinic.file("plan.pdf", randomBytes(5000, seed: 9))
        let reply = try ws.reply(thread: thread, as: "s2", body: .text("Care plan attached"), attachments: [.file(path: file)])
        let message = try #require(try ws.threadView(thread).messages.last)
        #expect(message.message == reply.message)
        #expect(message.author == "s2" && message.authorKind == .staff)
        #expect(message.recipients == ["u1", "u2"])
        #expect(message.attachments.map(\.name) == ["plan.pdf"])
        #expect(try ws.threadView(thread).summary.version == [ws.replica: 2])
    }

    @Test func unknownThreadOrActorIsNotFound() throws {
        let (clinic, portal, p1, _) = try portalWithThreads()
        defer { withExtendedLifetime(clinic) {} }
        expectRejected(.notFound, in: portal, mentions: ["T-nope"]) { try portal.reply(thread: "T-nope", as: "s1", body: .text("hi")) }
        expectRejected(.notFound, in: portal) { try portal.reply(thread: "../../etc", as: "s1", body: .text("hi")) }
        expectRejected(.notFound, in: portal, mentions: ["x9"]) { try portal.reply(thread: p1, as: "x9", body: .text("hi")) }
        expectRejected(.notFound, in: portal) { try portal.close(thread: "T-nope", as: "s1") }
    }

    @Test func onlyStaffCloseAndReopen() throws {
        let (clinic, portal, p1, _) = try portalWithThreads()
        defer { withExtendedLifetime(clinic) {} }
        expectRejected(.refused, in: portal, mentions: ["u1", "only staff"]) { try portal.close(thread: p1, as: "u1") }
        try portal.close(thread: p1, as: "s1")
        expectRejected(.refused, in: portal, mentions: ["u1", "only staff"]) { try portal.reopen(thread: p1, as: "u1") }
        #expect(try portal.threadView(p1).summary.status == .closed)
    }

    @Test func staffCloseAndReopenOnAWorkstation() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let thread = try onlyThread(try ws.send(request(to: ["u1"]))).thread
        try ws.close(thread: thread, as: "s3")
        #expect(try ws.threads().first?.status == .closed)
        let version = try ws.threadView(thread).summary.version
        try ws.close(thread: thread, as: "s3")  // already closed: nothing changes
        #expect(try ws.threadView(thread).summary.version == version)
        try ws.reopen(thread: thread, as: "s2")
        #expect(try ws.threads().first?.status == .open)
    }
}

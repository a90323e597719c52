import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import Testing

/// `--as PORTAL_USER` views and bulk isolation: a person sees exactly their own threads, never
/// Bcc, never another patient.
@Suite struct ViewTests {
    @Test func portalUserListsOnlyThreadsTheyReceived() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let p1 = try onlyThread(try ws.send(request(patient: "p1"))).thread
        let onlyU1 = try onlyThread(try ws.send(request(to: ["u1"]))).thread
        let p2 = try onlyThread(try ws.send(request(to: ["u3"]))).thread
        #expect(Set(try ws.threads(as: "u1").map(\.thread)) == [p1, onlyU1])
        #expect(try ws.threads(as: "u2").map(\.thread) == [p1])
        #expect(try ws.threads(as: "u3").map(\.thread) == [p2])
        // An inactive portal user sees nothing at all.
        expectRejected(.refused, in: ws, mentions: ["u9", "inactive"]) { try ws.threads(as: "u9") }
        expectRejected(.refused, in: ws, mentions: ["u9", "inactive"]) { try ws.threadView(p1, as: "u9") }
        #expect(Set(try ws.threads().map(\.thread)) == [p1, onlyU1, p2])
        #expect(Set(try ws.threads(patient: "p1").map(\.thread)) == [p1, onlyU1])
        #expect(try ws.threads(patient: "p2", as: "u1").isEmpty)
    }

    @Test func anotherPatientsThreadIsNotFoundAndStaffSeeEveryThread() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let p2 = try onlyThread(try ws.send(request(to: ["u3"]))).thread
        let p1 = try onlyThread(try ws.send(request(to: ["u1"]))).thread
        expectRejected(.notFound, in: ws, mentions: [p2]) { try ws.threadView(p2, as: "u1") }
        // A thread of their own patient they did not receive is not found either.
        expectRejected(.notFound, in: ws, mentions: [p1]) { try ws.threadView(p1, as: "u2") }
        expectRejected(.notFound, in: ws, mentions: ["u404"]) { try ws.threads(as: "u404") }
        // Staff are viewers too: they see every thread (Access.swift).
        #expect(try ws.threadView(p1, as: "s1").summary.thread == p1)
        #expect(Set(try ws.threads(as: "s2").map(\.thread)) == [p1, p2])
    }

    @Test func portalViewsNeverCarryBccStaffViewsDo() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        var req = request(patient: "p1")
        req.bccLists = ["admin"]
        let thread = try onlyThread(try ws.send(req)).thread
        try ws.reply(thread: thread, as: "s2", body: .text("Second note"))
        #expect(try ws.threadView(thread).messages.map(\.bcc) == [["s3", "s2"], []])
        for user in ["u1", "u2"] {
            let view = try ws.threadView(thread, as: user)
            #expect(view.messages.count == 2)
            #expect(view.messages.allSatisfy { $0.bcc == nil })
        }
    }

    /// A bulk send to everyone with a Bcc list: each patient's view of their thread mentions
    /// only that patient and their own users, and no Bcc.
    @Test func bulkIsolation() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let portal = try clinic.portal()
        var bcc = request()  // a portal store refuses Bcc, so use a workstation for that half
        bcc.bulk = .all
        let ws = try clinic.workstation()
        var withBcc = bcc
        withBcc.bccLists = ["nursing"]
        for (repository, req) in [(ws, withBcc), (portal, bcc)] {
            let result = try repository.send(req)
            #expect(result.threads.count == 3)
            let directory = try repository.directory()
            let patientOf = Dictionary(uniqueKeysWithValues: directory.portalUsers.map { ($0.id, $0.patient) })
            let everyone = Set(directory.portalUsers.map(\.id)).union(directory.patients.map(\.id))
            for sent in result.threads {
                #expect(Set(sent.recipients.map { patientOf[$0] }) == [sent.patient])
                for user in sent.recipients {
                    #expect(try repository.threads(as: user).map(\.thread) == [sent.thread])
                    let view = try repository.threadView(sent.thread, as: user)
                    #expect(view.summary.patient == sent.patient)
                    let own = Set(directory.portalUsers.filter { $0.patient == sent.patient }.map(\.id)).union([sent.patient])
                    let mentioned = Set(view.messages.flatMap { $0.recipients + [$0.author] + $0.toStaff } + [view.summary.patient])
                    #expect(mentioned.intersection(everyone).isSubset(of: own), "\(mentioned)")
                    #expect(view.messages.allSatisfy { $0.bcc == nil })
                    // Other patients' threads are invisible.
                    for other in result.threads where other.patient != sent.patient {
                        #expect(throws: MessagingError.self) { try repository.threadView(other.thread, as: user) }
                    }
                }
                // The stored, patient-visible manifests themselves name no other patient's user.
                let (_, thread) = try repository.thread(sent.thread)
                let xml = String(decoding: try repository.store.read(thread.messages[0].object).bytes, as: UTF8.self)
                for user in directory.portalUsers where user.patient != sent.patient {
                    #expect(!xml.contains("\"\(user.id)\"") && !xml.contains(">\(user.id)<"), "\(user.id) in \(xml)")
                }
            }
            // All threads share one body blob.
            let bodies = try result.threads.map {
                try repository.load(MessageManifest.self, try repository.thread($0.thread).thread.messages[0].object).body.object
            }
            #expect(Set(bodies).count == 1)
        }
    }
}

@Suite struct DirectoryCacheTests {
    @Test func aNewImportReplacesTheCachedDirectory() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let first = try ws.directory()
        #expect(try ws.directory() == first)  // served from the cache
        var changed = first
        changed.staff.append(.init(id: "s9", name: "New Hire"))
        let xml = String(decoding: try changed.encoded(), as: UTF8.self)
        try ws.importDirectory(Array(xml.utf8))
        #expect(try ws.directory().staff.contains { $0.id == "s9" })
        // Another handle on the same store sees it too.
        #expect(try Repository.open(at: ws.store.root).directory().staff.contains { $0.id == "s9" })
    }
}

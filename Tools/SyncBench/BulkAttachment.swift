import BenchSupport
import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelSync

/// Issue #10's case: a bulk send with a 4 MiB attachment to every active patient is synced to
/// the portal; then staff write 10 replies. The incremental bundle must leave out what the
/// portal acknowledged (the attachment above all): target under 64 KB.
struct BulkAttachmentResult {
    var patients: Int
    var threads: Int
    var fullBytes: UInt64
    var incrementalBytes: UInt64
    var incrementalObjects: Int
    var createSeconds: Double
    var applySeconds: Double
}

extension Bench {
    func bulkAttachment(patients: Int) throws -> BulkAttachmentResult {
        let root = work + "/bulk-attachment"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let laptop = try Repository.create(at: root + "/laptop", role: .workstation)
        let portal = try Repository.create(at: root + "/portal", role: .portal, portalURL: "https://portal.example.org")
        let directory = DirectoryGenerator.xml(patients: patients)
        try laptop.importDirectory(directory)
        try portal.importDirectory(directory)
        var state: UInt64 = 0x5A7C_4E11
        var attachment = [UInt8](repeating: 0, count: 4 << 20)
        for i in attachment.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            attachment[i] = UInt8(truncatingIfNeeded: state >> 56)
        }
        let file = root + "/results.bin"
        try Data(attachment).write(to: URL(fileURLWithPath: file))
        var request = ComposeRequest(author: "s1")
        request.bulk = .activePatients
        request.subject = "Your results"
        request.body = .text("Your results are attached. Please call us with any questions.")
        request.attachments = [.file(path: file)]
        let sent = try laptop.send(request)
        let first = try SyncEngine(laptop).sync(with: portal)
        for (i, thread) in sent.threads.prefix(10).enumerated() {
            _ = try laptop.reply(thread: thread.thread, as: "s2", body: .text(TextGenerator.text(bytes: 400, seed: UInt64(i))))
        }
        let path = root + "/ten-replies.bundle"
        let (summary, create) = try Clock.time { try SyncEngine(laptop).createBundle(for: portal.replica, to: path) }
        let (_, apply) = try Clock.time { try SyncEngine(portal).applyBundle(path) }
        return BulkAttachmentResult(patients: patients, threads: sent.threads.count, fullBytes: first.sent.bytes,
                                    incrementalBytes: summary.bytes, incrementalObjects: summary.objects,
                                    createSeconds: create, applySeconds: apply)
    }
}

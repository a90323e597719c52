import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelTestSupport
import Testing

/// Content addressing at scale: bodies and attachments are stored once however many threads
/// refer to them. (Memory bounds for a 50 MiB body and a 2 GiB attachment are measured in a
/// child process: SatchelCLITests/LargeContentTests.)
@Suite struct ScaleTests {
    @Test func bulkSendOfA5MiBAttachmentTo1000PatientsStoresItOnce() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.repository(.workstation, directory: Clinic.generated(patients: 1000))
        let size = 5 << 20
        let attachment = clinic.file("results.pdf", randomBytes(size, seed: 42))
        let before = totalBytes(ws.store.root)
        var req = request(subject: "Clinic update", body: "Our clinic hours change next week.")
        req.bulk = .activePatients
        req.attachments = [.file(path: attachment)]
        let result = try ws.send(req)
        #expect(result.threads.count == 1000)
        #expect(result.skipped.isEmpty)
        let growth = totalBytes(ws.store.root) - before
        #expect(growth > size)
        #expect(growth < size + 1000 * 4096, "store grew by \(growth) bytes")
        // 1 attachment + 1 body + 1000 messages + 1000 thread manifests.
        let stats = try ws.store.stats()
        #expect(stats.objects == 1 /* directory */ + 2 + 2000)
        let objects = Set(try result.threads.prefix(50).map {
            try ws.threadView($0.thread).messages[0].attachments[0].object
        })
        #expect(objects.count == 1)
        // Sending it again adds manifests only.
        let again = totalBytes(ws.store.root)
        _ = try ws.send(req)
        #expect(totalBytes(ws.store.root) - again < 1000 * 4096)
    }

    @Test func a50MiBBodyFileIsStreamedAndReadBackIntact() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let length = 50 << 20
        var source = GeneratedSource(length: UInt64(length), pattern: .text(seed: 5))
        var bytes = [UInt8](repeating: 0, count: length)
        _ = try bytes.withUnsafeMutableBytes { try source.read(into: $0) }
        let path = clinic.file("body.txt", bytes)
        let expected = ObjectID.compute(kind: .blob, payload: bytes)
        bytes = []
        var req = request(to: ["u1"])
        req.body = .file(path: path)
        let sent = try onlyThread(try ws.send(req))
        let (_, thread) = try ws.thread(sent.thread)
        let message = try ws.load(MessageManifest.self, thread.messages[0].object)
        #expect(message.body.length == UInt64(length))
        #expect(message.body.format == .plain)
        #expect(message.body.object == expected)
        var readBack = 0
        try ws.store.read(message.body.object) { readBack += $0.count }  // verifies the hash as it streams
        #expect(readBack == length)
        // A reply can reuse the same body at no cost.
        let growth = totalBytes(ws.store.root)
        try ws.reply(thread: sent.thread, as: "s1", body: .file(path: path))
        #expect(totalBytes(ws.store.root) - growth < 64 * 1024)
    }
}

import Foundation
import SatchelMessaging
import SatchelStore
import Testing
@testable import SatchelSync

/// Bundle format 2 compresses header and pack as one stream (docs/FORMAT.md, "Bundles").
@Suite struct BundleSizeTests {
    /// The objects a bundle carries, re-packed with each entry compressed on its own (the store's
    /// policy, as bundle format 1 did): the size the shared stream is measured against.
    static func individuallyCompressedPackSize(_ bundle: String, store: ObjectStore) throws -> (bytes: UInt64, objects: Int) {
        let opened = try BundleFile.open(bundle)
        defer { opened.close() }
        let reader = opened.packReader()
        let pack = try store.detachedPack()
        defer { pack.abandon() }
        while let entry = try reader.next() {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = try chunk.withUnsafeMutableBytes { try reader.read(into: $0) }
                if n == 0 { break }
                bytes += chunk[0..<n]
            }
            try pack.put(entry.kind, bytes)
        }
        try reader.finish()
        try opened.finish()
        let (path, bytes, objects) = try pack.sealDetached()
        try? FileManager.default.removeItem(atPath: path)
        return (bytes, objects)
    }

    static func size(_ path: String) throws -> UInt64 {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value ?? 0
    }

    @Test func similarThreadsShareOneCompressionStream() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        for i in 0..<200 {
            _ = try compose(laptop, patient: i % 2 == 0 ? "p1" : "p2", subject: "Flu clinic \(i % 7)",
                            body: "Flu shots are available this week. Reminder number \(i).")
        }
        let path = clinic.bundlePath()
        let summary = try SyncEngine(laptop).createBundle(for: portal.replica, to: path)
        #expect(summary.threads == 200)
        let separate = try Self.individuallyCompressedPackSize(path, store: laptop.store)
        #expect(separate.objects == summary.objects)
        let bundle = try Self.size(path)
        #expect(bundle == summary.bytes)
        #expect(Double(bundle) < 0.5 * Double(separate.bytes), "bundle \(bundle) B vs \(separate.bytes) B compressed one by one")
        // And it still applies.
        let result = try SyncEngine(portal).applyBundle(path)
        #expect(result.applied == 200)
        #expect(try Clinic.heads(portal) == Clinic.heads(laptop))
    }

    @Test func incompressibleAttachmentTravelsStored() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        var generator = SystemRandomNumberGenerator()
        let payload = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let file = clinic.root + "/scan.bin"
        try Data(payload).write(to: URL(fileURLWithPath: file))
        var request = ComposeRequest(author: "s1")
        request.patient = "p1"
        request.subject = "Scan"
        request.body = .text("Attached.")
        request.attachments = [.file(path: file)]
        _ = try laptop.send(request)
        let path = clinic.bundlePath()
        _ = try SyncEngine(laptop).createBundle(for: portal.replica, to: path)
        let bundle = try Self.size(path)
        // 1 MiB stored plus the manifests and a few bytes of stored-block framing (5 B per 64 KiB).
        #expect(bundle >= 1 << 20)
        #expect(bundle < (1 << 20) + 8 * 1024, "bundle is \(bundle) B")
        _ = try SyncEngine(portal).applyBundle(path)
        #expect(try Clinic.heads(portal) == Clinic.heads(laptop))
    }
}

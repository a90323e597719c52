import BenchSupport
import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelSync

/// A clinic directory of `patients` patients, each with an email address, portal access and
/// one active portal user (the patient), plus a few staff. Deterministic.
enum DirectoryGenerator {
    static let given = ["Rosa", "Sam", "Amara", "Luis", "Mei", "Tomas", "Ines", "Kofi", "Hana", "Oskar",
                        "Priya", "Jonas", "Lena", "Marco", "Nadia", "Omar", "Ruth", "Yusuf", "Elif", "Ivan"]
    static let family = ["Diaz", "Lee", "Okafor", "Novak", "Chen", "Silva", "Berg", "Haddad", "Kowalski",
                         "Moreau", "Tanaka", "Olsen", "Rossi", "Nguyen", "Schmidt", "Adeyemi", "Costa", "Ali"]

    static func xml(patients: Int) -> [UInt8] {
        var out = """
            <directory xmlns="urn:satchel:directory:1">
              <settings defaultAllowReplies="true">
                <notificationTemplate id="e" channel="email">New secure message: {{link}}</notificationTemplate>
                <notificationTemplate id="s" channel="sms">New secure message: {{link}}</notificationTemplate>
              </settings>
              <staff id="s1" name="Dr. Ada Shaw"><permission name="sendBulkPortalMessage"/></staff>
              <staff id="s2" name="Nurse Ben Okafor"/>
              <staff id="s3" name="Billing Clerk Zed Quark"/>
              <distributionList id="nursing" name="Nursing"><member staff="s2"/><member staff="s3"/></distributionList>

            """
        out.reserveCapacity(patients * 200 + 1024)
        func name(_ i: Int) -> String { "\(given[i % given.count]) \(family[(i / given.count) % family.count])" }
        for i in 1...patients {
            let status = i % 10 == 0 ? "discharged" : "active"
            out += "  <patient id=\"p\(i)\" name=\"\(name(i))\" status=\"\(status)\" email=\"patient\(i)@example.org\" portalAccess=\"true\"/>\n"
        }
        for i in 1...patients {
            out += "  <portalUser id=\"u\(i)\" patient=\"p\(i)\" role=\"patient\" active=\"true\" name=\"\(name(i))\"/>\n"
        }
        out += "</directory>\n"
        return Array(out.utf8)
    }
}

/// Deterministic English-like clinic text, `bytes` long (about), varied by `seed`.
enum TextGenerator {
    static let words = ["your", "results", "from", "the", "clinic", "are", "ready", "please", "call", "us",
                        "if", "you", "have", "questions", "about", "appointment", "on", "monday", "blood",
                        "pressure", "was", "normal", "we", "will", "review", "medication", "dose", "next",
                        "week", "lab", "report", "attached", "follow", "up", "in", "two", "weeks", "thank",
                        "nurse", "doctor", "pharmacy", "refill", "approved", "schedule", "visit", "and"]

    static func text(bytes: Int, seed: UInt64) -> String {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func next() -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(words.count * words.count)) % words.count
        }
        var out = "Reference \(seed). "
        var sentence = 0
        while out.utf8.count < bytes {
            out += words[next()]
            sentence += 1
            if sentence > 8 && next() % 5 == 0 { out += ". "; sentence = 0 } else { out += " " }
        }
        return out
    }
}

/// One workstation + portal pair holding `threads` threads, fully synced.
final class StorePair {
    let threads: Int
    let root: String
    let workstation: Repository
    let portal: Repository
    let threadIDs: [String]
    var buildSeconds: [String: Double] = [:]

    init(threads: Int, root: String, log: (String) -> Void) throws {
        self.threads = threads
        self.root = root
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let (xml, genSeconds) = Clock.time { DirectoryGenerator.xml(patients: threads) }
        buildSeconds["directory XML (\(Fmt.mb(UInt64(xml.count))) MB) generated"] = genSeconds
        workstation = try Repository.create(at: root + "/workstation", role: .workstation, name: "clinic-laptop")
        portal = try Repository.create(at: root + "/portal", role: .portal, name: "portal",
                                       portalURL: "https://portal.example.org")
        var t = BenchProcess.now()
        try workstation.importDirectory(xml)
        try portal.importDirectory(xml)
        buildSeconds["directory imported into both stores"] = BenchProcess.now() - t
        log("  N=\(threads): directory imported (\(Fmt.mb(UInt64(xml.count))) MB XML)")

        // One bulk send: one thread per patient, body stored once.
        var request = ComposeRequest(author: "s1")
        request.bulk = .all
        request.subject = "Flu vaccination clinic"
        request.body = .text(TextGenerator.text(bytes: 700, seed: 1))
        t = BenchProcess.now()
        let result = try workstation.send(request)
        buildSeconds["bulk send of \(Fmt.grouped(threads)) threads (workstation)"] = BenchProcess.now() - t
        guard result.threads.count == threads, result.skipped.isEmpty else {
            throw BenchError("bulk send made \(result.threads.count) threads, skipped \(result.skipped.count); expected \(threads)")
        }
        threadIDs = result.threads.map(\.thread)
        log("  N=\(threads): bulk send done in \(Fmt.f(BenchProcess.now() - t, 1)) s")

        let engine = SyncEngine(workstation)
        t = BenchProcess.now()
        let first = try engine.sync(with: portal)
        buildSeconds["first sync (full, workstation ↔ portal)"] = BenchProcess.now() - t
        log("  N=\(threads): first sync \(Fmt.f(BenchProcess.now() - t, 1)) s (\(first.sent.objects) objects, \(first.sent.bytes) B)")
        guard first.sent.threads == threads else {
            throw BenchError("first sync sent \(first.sent.threads) threads, expected \(threads)")
        }
        t = BenchProcess.now()
        _ = try engine.sync(with: portal)
        buildSeconds["second sync (acks settle)"] = BenchProcess.now() - t
        log("  N=\(threads): second sync \(Fmt.f(BenchProcess.now() - t, 1)) s")
    }

    var workstationPath: String { workstation.store.root }
    var portalPath: String { portal.store.root }

    /// Staff replies on the workstation to `count` threads spread over the store (a different
    /// set each round); every fourth reply carries a small text attachment.
    func change(round: Int, count: Int, scratch: String) throws -> (threads: [String], attachments: Int, seconds: Double) {
        let stride = max(1, threads / count)
        var picked: [String] = []
        var attachments = 0
        let start = BenchProcess.now()
        for i in 0..<min(count, threads) {
            let thread = threadIDs[(i * stride + round % stride) % threads]
            let seed = UInt64(round * 100_000 + i + 2)
            var files: [AttachmentInput] = []
            if i % 4 == 0 {
                let path = scratch + "/attachment-\(threads)-\(round)-\(i).txt"
                try TextGenerator.text(bytes: 3000, seed: seed &+ 7).write(toFile: path, atomically: false, encoding: .utf8)
                files.append(.file(path: path, name: "lab-report-\(i).txt"))
                attachments += 1
            }
            try workstation.reply(thread: thread, as: "s1", body: .text(TextGenerator.text(bytes: 400, seed: seed)),
                                  attachments: files)
            picked.append(thread)
        }
        return (picked, attachments, BenchProcess.now() - start)
    }

    /// Portal → workstation bundle so the workstation learns what the portal received (its
    /// checkpoint's `delivered` moves and the next bundle starts after it).
    func settle(scratch: String) throws {
        let path = scratch + "/settle-\(threads)-\(UUID().uuidString).bundle"
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try SyncEngine(portal).createBundle(for: workstation.replica, targetRole: .workstation, to: path)
        try SyncEngine(workstation).applyBundle(path)
    }

    /// Every object a full bundle for a portal carries: reachable from the thread heads
    /// (the same walk as `createBundle`).
    func reachableFromThreads() throws -> [ObjectID] {
        let store = workstation.store
        var seen = Set<ObjectID>()
        var order: [ObjectID] = []
        var pending = try store.refs.list(prefix: "threads/").map(\.id)
        while let id = pending.popLast() {
            guard seen.insert(id).inserted else { continue }
            order.append(id)
            let info = try store.info(id)
            if info.kind == .manifest { pending.append(contentsOf: References.scan(try store.read(id).bytes)) }
        }
        return order
    }
}

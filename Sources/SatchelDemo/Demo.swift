import Foundation
import SatchelBackup
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelSync

/// The Satchel story end to end, on the embedded file store: a clinic laptop (workstation) and
/// the patient portal; the laptop works offline, they sync, a patient replies while staff close
/// the thread, they sync again and converge with nothing lost; the laptop is backed up, lost and
/// restored under a new replica ID, and keeps syncing. `satchel demo` runs it and prints.
public enum Demo {
    /// What the demo showed, checked.
    public struct Summary: Encodable, Sendable {
        /// The directory holding the demo's stores.
        public var directory: String
        /// The laptop's (workstation) store.
        public var workstation: String
        /// The portal's store.
        public var portal: String
        /// Threads on the laptop.
        public var threads: Int
        /// Objects on the laptop.
        public var objects: Int
        /// Bytes the laptop's store takes.
        public var bytes: UInt64
        /// The laptop and the portal hold the same thread heads after the concurrent edits.
        public var converged: Bool
        /// The patient's view carries Staff Bcc (must be false).
        public var patientViewHasBcc: Bool
        /// fsck found nothing on the restored laptop and the portal.
        public var fsckClean: Bool
        /// The restored laptop holds the same thread heads as the lost one.
        public var restoreEqual: Bool
        /// The restored laptop and the portal converge after new work.
        public var convergedAfterRestore: Bool
        /// The restored laptop's store.
        public var restoredStore: String
        /// The restored laptop's new replica ID.
        public var restoredReplica: String
        /// Notifications queued on the portal.
        public var outbox: Int
        /// Wall time of the whole demo.
        public var seconds: Double
        /// The lab-results thread (the one the story follows).
        public var labThread: String

        /// True when every check passed.
        public var allChecksPass: Bool { fsckClean && converged && !patientViewHasBcc && restoreEqual && convergedAfterRestore }
    }

    /// The demo clinic's directory (staff, patients, portal users, templates).
    public static let clinicDirectory = """
        <directory xmlns="urn:satchel:directory:1">
          <settings defaultAllowReplies="true">
            <label key="patient" value="Client"/>
            <notificationTemplate id="default" channel="email">You have a new secure message: {{link}}</notificationTemplate>
            <notificationTemplate id="default-sms" channel="sms">New secure message: {{link}}</notificationTemplate>
            <messageTemplate id="flu" subject="Flu shots are here">Walk-in flu shots every weekday, 9 to 5.</messageTemplate>
          </settings>
          <staff id="s1" name="Dr. Ada Shaw"><permission name="sendBulkPortalMessage"/></staff>
          <staff id="s2" name="Nurse Ben Okafor"/>
          <distributionList id="nursing" name="Nursing"><member staff="s2"/></distributionList>
          <patient id="p1" name="Rosa Diaz" status="active" email="rosa@example.org" cell="+15550100" portalAccess="true"/>
          <patient id="p2" name="Sam Lee" status="active" email="sam@example.org" portalAccess="true"/>
          <patient id="p3" name="Ann Moss" status="active" portalAccess="true"/>
          <portalUser id="u1" patient="p1" role="patient" active="true" name="Rosa Diaz"/>
          <portalUser id="u2" patient="p1" role="authorizedRepresentative" active="true" name="Luis Diaz" email="luis@example.org"/>
          <portalUser id="u3" patient="p2" role="patient" active="true" name="Sam Lee"/>
          <portalUser id="u4" patient="p3" role="patient" active="true" name="Ann Moss"/>
        </directory>
        """

    /// Runs the story in `base` (created if missing), telling `step` each chapter's title and
    /// `say` what happened, and returns the checked summary.
    public static func run(in base: String, step: (String) -> Void = { _ in }, say: (String) -> Void = { _ in }) throws -> Summary {
        let started = Date()
        try LocalFiles.createDirectory(base)
        step("Two stores: a clinic laptop (workstation) and the patient portal.")
        let laptopPath = base + "/laptop", portalPath = base + "/portal"
        let laptop = try Repository.create(at: laptopPath, role: .workstation, name: "Front desk laptop")
        let portal = try Repository.create(at: portalPath, role: .portal, name: "Patient portal",
                                           portalURL: "https://portal.example.org")
        for store in [laptop, portal] { try store.importDirectory(Array(Self.clinicDirectory.utf8)) }
        say("  laptop replica \(laptop.replica), portal replica \(portal.replica); directory imported on both")

        step("Offline on the laptop: Dr. Shaw sends lab results with a PDF to Rosa (and her representative).")
        let pdf = base + "/lab-results.pdf"
        try writeSampleFile(pdf, megabytes: 4)
        var labs = ComposeRequest(author: "s1")
        labs.patient = "p1"
        labs.subject = "Your lab results"
        labs.body = .text("Hello Rosa, your results are attached. Everything looks good.")
        labs.attachments = [.file(path: pdf)]
        let labThread = try laptop.send(labs).threads[0]
        say("  thread \(labThread.thread) to \(labThread.recipients.joined(separator: ", ")) (4 MiB attachment streamed in)")

        step("A bulk message to every active patient, with a hidden copy to the nursing list.")
        var bulk = ComposeRequest(author: "s1")
        bulk.bulk = .activePatients
        bulk.template = "flu"
        bulk.bccLists = ["nursing"]
        let bulkResult = try laptop.send(bulk)
        say("  \(bulkResult.threads.count) threads, one per patient; skipped: "
            + (bulkResult.skipped.isEmpty ? "none" : bulkResult.skipped.map { "\($0.portalUser) (\($0.reason))" }.joined(separator: ", ")))

        step("A draft for later (drafts never leave the workstation).")
        var draftRequest = ComposeRequest(author: "s2")
        draftRequest.to = ["u3"]
        draftRequest.subject = "Follow-up"
        draftRequest.body = .text("Draft: call about the appointment.")
        let draft = try laptop.saveDraft(draftRequest)
        say("  draft \(draft)")

        step("Back online: the laptop syncs with the portal.")
        let first = try SyncEngine(laptop).sync(with: portal)
        say("  sent \(first.sent.threads) threads (\(first.sent.objects) objects, \(humanBytes(first.sent.bytes))); "
            + "the portal queued \(try portal.outbox().count) link-only notifications")

        step("Meanwhile: Rosa replies on the portal, and on the (offline) laptop staff close the thread.")
        _ = try portal.reply(thread: labThread.thread, as: "u1", body: .text("Thank you, doctor!"))
        try laptop.close(thread: labThread.thread, as: "s1")
        say("  both edits are concurrent")

        step("They sync again and converge: the reply and the close both survive.")
        _ = try SyncEngine(laptop).sync(with: portal)
        let onLaptop = try laptop.thread(labThread.thread), onPortal = try portal.thread(labThread.thread)
        let converged = try Self.heads(laptop) == Self.heads(portal)
        say("  thread \(labThread.thread): \(onLaptop.thread.status.rawValue), \(onLaptop.thread.messages.count) messages; "
            + "same head on both stores: \(onLaptop.head == onPortal.head)")

        step("Rosa's view on the portal: her threads only, no Staff Bcc.")
        let rosa = try portal.threads(as: "u1")
        let bulkToRosa = try bulkResult.threads.first { $0.patient == "p1" }.orThrow("the bulk send reached no thread of patient p1")
        let rosaBulk = try portal.threadView(bulkToRosa.thread, as: "u1")
        let staffBulk = try laptop.threadView(bulkToRosa.thread)
        let bccLeak = rosaBulk.messages.contains { $0.bcc != nil }
        say("  Rosa sees \(rosa.count) threads; Bcc visible to her: \(bccLeak ? "YES (bug)" : "no"); "
            + "staff on the laptop see Bcc \(staffBulk.messages.first?.bcc ?? [])")
        let outbox = try portal.outbox()
        say("  a notification reads: \"\(outbox.first?.text ?? "")\"")

        step("The laptop is backed up (encrypted), lost, and restored under a new replica ID.")
        let archive = base + "/laptop.satchel-backup"
        let passphrase = try Passphrase(string: "correct horse battery staple")
        let backup = try Backup.create(laptop, to: archive, options: .init(passphrase: passphrase))
        let restoredPath = base + "/laptop-restored"
        let restore = try Backup.restore(archive, to: restoredPath, passphrase: passphrase)
        let restored = try Repository.open(at: restoredPath)
        let restoreEqual = try Self.heads(restored) == Self.heads(laptop)
        say("  archive \(humanBytes(backup.bytes)), \(backup.objects) objects; restored with replica \(restore.replica) "
            + "(was \(restore.retired)); same thread heads: \(restoreEqual)")
        _ = try restored.reply(thread: labThread.thread, as: "s1", body: .text("Restored laptop checking in."))
        _ = try SyncEngine(restored).sync(with: portal)
        let afterRestore = try Self.heads(restored) == Self.heads(portal)
        say("  new work on the restored laptop synced with the portal; converged: \(afterRestore)")

        step("fsck rehashes every object on both stores.")
        let reports = [try restored.fsck(), try portal.fsck()]
        let clean = reports.allSatisfy(\.isClean)
        say("  restored laptop: \(reports[0].objects) objects, portal: \(reports[1].objects) objects, problems: \(reports.map(\.problems.count).reduce(0, +))")

        let stats = try laptop.store.stats()
        let summary = Summary(directory: base, workstation: laptopPath, portal: portalPath, threads: stats.refs["threads"] ?? 0,
                              objects: stats.objects, bytes: stats.bytes, converged: converged, patientViewHasBcc: bccLeak,
                              fsckClean: clean, restoreEqual: restoreEqual, convergedAfterRestore: afterRestore,
                              restoredStore: restoredPath, restoredReplica: restore.replica,
                              outbox: outbox.count, seconds: Date().timeIntervalSince(started), labThread: labThread.thread)
        return summary
    }

    /// Thread ref → head, for comparing stores.
    static func heads(_ repository: Repository) throws -> [String: ObjectID] {
        Dictionary(uniqueKeysWithValues: try repository.store.refs.list(prefix: "threads/").map { ($0.name.rawValue, $0.id) })
    }

    /// A sample document, streamed (never held whole) through the store's one writer of files.
    static func writeSampleFile(_ path: String, megabytes: Int) throws {
        var source = GeneratedSource(length: UInt64(megabytes) << 20, pattern: .text(seed: 42))
        try DurableFile.write(from: &source, to: path, mode: .ephemeral)
    }
}

/// A byte count for people: "512 B", "4.0 MiB".
public func humanBytes(_ count: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(count)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
}

extension Optional {
    /// The value, or an internal error naming what was missing.
    func orThrow(_ what: String) throws -> Wrapped {
        guard let value = self else { throw MessagingError(.notFound, "demo: \(what)") }
        return value
    }
}

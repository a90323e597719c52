import Foundation
import SatchelBackup
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelTestSupport

/// A temporary directory with stores of the sample clinic, removed at the end.
final class Workspace: Sendable {
    private let directory = TemporaryDirectory(prefix: "satchel-backup-")
    var root: String { directory.path }

    static let directoryXML = """
        <directory xmlns="urn:satchel:directory:1">
          <settings defaultAllowReplies="true">
            <notificationTemplate id="e" channel="email">New secure message: {{link}}</notificationTemplate>
          </settings>
          <staff id="s1" name="Dr. Ada Shaw"><permission name="sendBulkPortalMessage"/></staff>
          <staff id="s2" name="Nurse Ben Okafor"/>
          <distributionList id="nursing" name="Nursing"><member staff="s2"/></distributionList>
          <patient id="p1" name="Rosa Quixotica Diaz" status="active" email="rosa@example.org" cell="+15550100" portalAccess="true"/>
          <patient id="p2" name="Sam Lee" status="active" email="sam@example.org" portalAccess="true"/>
          <portalUser id="u1" patient="p1" role="patient" active="true" name="Rosa Quixotica Diaz"/>
          <portalUser id="u2" patient="p1" role="authorizedRepresentative" active="true" name="Luis Diaz" email="luis@example.org"/>
          <portalUser id="u3" patient="p2" role="patient" active="true" name="Sam Lee"/>
        </directory>
        """

    func store(_ name: String, _ role: StoreConfig.Role = .workstation) throws -> Repository {
        let repository = try Repository.create(at: path(name), role: role,
                                               portalURL: role == .portal ? "https://portal.example.org" : nil)
        try repository.importDirectory(Array(Self.directoryXML.utf8))
        return repository
    }

    func path(_ name: String) -> String { root + "/" + name }

    /// A file of pseudo-random bytes (an attachment that does not compress).
    func attachment(_ name: String, size: Int, seed: UInt64) throws -> String {
        let file = path(name)
        try Data(randomBytes(size, seed: seed)).write(to: URL(fileURLWithPath: file))
        return file
    }
}

@discardableResult
func compose(_ repository: Repository, patient: String = "p1", subject: String = "Lab results",
             body: String = "Your results are ready.", bcc: [String] = [], attachments: [String] = []) throws -> SentThread {
    var request = ComposeRequest(author: "s1")
    request.patient = patient
    request.subject = subject
    request.body = .text(body)
    request.bccLists = bcc
    request.attachments = attachments.map { .file(path: $0) }
    return try repository.send(request).threads[0]
}

/// Ref name → object of a store, without sync checkpoints.
func refMap(_ repository: Repository) throws -> [String: ObjectID] {
    Dictionary(uniqueKeysWithValues: try repository.store.refs.list()
        .filter { !$0.name.rawValue.hasPrefix("sync/") }
        .map { ($0.name.rawValue, $0.id) })
}

/// Objects reachable from a store's refs.
func reachable(_ repository: Repository) throws -> Set<ObjectID> {
    var seen = Set<ObjectID>()
    var pending = try repository.store.refs.list().filter { !$0.name.rawValue.hasPrefix("sync/") }.map(\.id)
    while let id = pending.popLast() {
        guard seen.insert(id).inserted else { continue }
        let (kind, bytes) = try repository.store.read(id)
        if kind == .manifest { pending += References.scan(bytes) }
    }
    return seen
}

func fsckClean(_ repository: Repository) throws -> Bool {
    try repository.store.fsck(checkManifest: { _, bytes in
        do { _ = try AnyManifest.decode(bytes, trust: .untrusted); return nil } catch { return "\(error)" }
    }).isClean
}

func fastOptions(passphrase: String? = nil, base: String? = nil) throws -> Backup.Options {
    var options = Backup.Options(passphrase: try passphrase.map { try Passphrase(string: $0) }, incrementalFrom: base)
    options.scrypt = .fast
    options.chunkSize = 4096
    return options
}

func bytes(_ path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path)!) }

func write(_ bytes: [UInt8], _ path: String) {
    try? FileManager.default.removeItem(atPath: path)
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

func errorCode(_ body: () throws -> Void) -> BackupError.Code? {
    do { try body() } catch let error as BackupError { return error.code } catch { return nil }
    return nil
}

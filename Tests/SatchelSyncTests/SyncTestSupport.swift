import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
@testable import SatchelSync
import SatchelTestSupport

/// Temporary stores with the sample clinic directory.
final class Clinic {
    private let directory = TemporaryDirectory(prefix: "satchel-sync-")
    var root: String { directory.path }
    private(set) var stores: [String: Repository] = [:]

    static let directoryXML = """
        <directory xmlns="urn:satchel:directory:1">
          <settings defaultAllowReplies="true">
            <notificationTemplate id="e" channel="email">New secure message: {{link}}</notificationTemplate>
          </settings>
          <staff id="s1" name="Dr. Ada Shaw"><permission name="sendBulkPortalMessage"/></staff>
          <staff id="s2" name="Nurse Ben Okafor"/>
          <staff id="s3" name="Billing Clerk Zed Quark"/>
          <distributionList id="nursing" name="Nursing"><member staff="s2"/><member staff="s3"/></distributionList>
          <patient id="p1" name="Rosa Diaz" status="active" email="rosa@example.org" cell="+15550100" portalAccess="true"/>
          <patient id="p2" name="Sam Lee" status="active" email="sam@example.org" portalAccess="true"/>
          <portalUser id="u1" patient="p1" role="patient" active="true" name="Rosa Diaz"/>
          <portalUser id="u2" patient="p1" role="authorizedRepresentative" active="true" name="Luis Diaz" email="luis@example.org"/>
          <portalUser id="u3" patient="p2" role="patient" active="true" name="Sam Lee"/>
        </directory>
        """

    func store(_ name: String, _ role: StoreConfig.Role) throws -> Repository {
        let repository = try Repository.create(at: root + "/" + name, role: role, portalURL: role == .portal ? "https://portal.example.org" : nil)
        try repository.importDirectory(Array(Self.directoryXML.utf8))
        stores[name] = repository
        return repository
    }

    func bundlePath(_ name: String = UUID().uuidString) -> String { root + "/" + name + ".bundle" }

    /// Thread ID → head object, for comparing replicas.
    static func heads(_ repository: Repository, prefix: String = "threads/") throws -> [String: ObjectID] {
        Dictionary(uniqueKeysWithValues: try repository.store.refs.list(prefix: prefix).map { ($0.name.rawValue, $0.id) })
    }

    /// Every file under a store with its bytes, to prove a refused apply changed nothing.
    static func snapshot(_ repository: Repository) -> [String: Data] {
        FileTree.snapshot(repository.store.root, excluding: "tmp/")
    }
}

func compose(_ repository: Repository, patient: String = "p1", subject: String = "Lab results",
             body: String = "Your results are ready.", bcc: [String] = []) throws -> SentThread {
    var request = ComposeRequest(author: "s1")
    request.patient = patient
    request.subject = subject
    request.body = .text(body)
    request.bccLists = bcc
    return try repository.send(request).threads[0]
}

import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelTestSupport
import Testing

/// A temporary place holding a workstation and/or a portal store with a directory imported.
///
/// The standard directory (``Clinic/standard``) has one person or patient for every rule:
///
/// | patient | status | email | cell | portal access | portal users |
/// |---|---|---|---|---|---|
/// | p1 Rosa Diaz | active | yes | yes | yes | u1 (patient), u2 (representative, own email), u9 (representative, inactive) |
/// | p2 Sam Lee | discharged | yes | – | yes | u3 |
/// | p3 Ida Moss | active | – | – | yes | u4 |
/// | p4 Tom Reyes | active | yes | – | **no** | u5 |
/// | p5 Ana Ruiz | active | – | yes | yes | u6 |
/// | p6 Joe Park | discharged | – | yes | yes | u7 (inactive) |
///
/// Staff: s1 (sendBulkPortalMessage, email), s2 (cell), s3 (viewAllDrafts, no contact). Lists: nursing = [s2], admin = [s3, s2].
final class Clinic {
    private let directory = TemporaryDirectory(prefix: "satchel-msg-")
    var root: String { directory.path }

    static let link = "https://portal.example.test"

    /// A new store of `role` with `directory` imported.
    func repository(_ role: StoreConfig.Role, directory: Directory = Clinic.standard(),
                    name: String? = nil) throws -> Repository {
        let path = root + "/" + (name ?? role.rawValue)
        let repository = try Repository.create(at: path, role: role, name: name,
                                               portalURL: role == .portal ? Self.link : nil)
        try repository.importDirectory(try directory.encoded())
        return repository
    }

    func workstation() throws -> Repository { try repository(.workstation) }
    func portal() throws -> Repository { try repository(.portal) }

    /// Writes a file in the clinic's scratch area and returns its path.
    @discardableResult
    func file(_ name: String, _ bytes: [UInt8]) -> String {
        let path = root + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    func file(_ name: String, _ text: String) -> String { file(name, Array(text.utf8)) }

    // MARK: Directories

    static let names = ["Rosa Diaz", "Luis Diaz", "Sam Lee", "Ida Moss", "Tom Reyes", "Ana Ruiz", "Joe Park",
                        "Dr. Ada Shaw", "Nurse Ben Okafor", "Cy Front"]

    static func standard(defaultAllowReplies: Bool = true) -> Directory {
        Directory(
            settings: .init(
                defaultAllowReplies: defaultAllowReplies,
                labels: [.init(key: "patient", value: "Client")],
                notificationTemplates: [
                    .init(id: "default", channel: .email, text: "Hello, you have a new secure message: {{link}}"),
                    .init(id: "default-sms", channel: .sms, text: "New secure message: {{link}}"),
                ],
                messageTemplates: [.init(id: "labs", subject: "Your lab results", body: "Your results are ready.")]),
            staff: [
                .init(id: "s1", name: "Dr. Ada Shaw", permissions: [.sendBulkPortalMessage], email: "ada@clinic.example"),
                .init(id: "s2", name: "Nurse Ben Okafor", cell: "+15550200"),
                .init(id: "s3", name: "Cy Front", permissions: [.viewAllDrafts]),
            ],
            distributionLists: [
                .init(id: "nursing", name: "Nursing", members: ["s2"]),
                .init(id: "admin", name: "Admin", members: ["s3", "s2"]),
            ],
            patients: [
                .init(id: "p1", name: "Rosa Diaz", status: .active, email: "rosa@example.org", cell: "+15550100", portalAccess: true),
                .init(id: "p2", name: "Sam Lee", status: .discharged, email: "sam@example.org", portalAccess: true),
                .init(id: "p3", name: "Ida Moss", status: .active, portalAccess: true),
                .init(id: "p4", name: "Tom Reyes", status: .active, email: "tom@example.org", portalAccess: false),
                .init(id: "p5", name: "Ana Ruiz", status: .active, cell: "+15550105", portalAccess: true),
                .init(id: "p6", name: "Joe Park", status: .discharged, cell: "+15550106", portalAccess: true),
            ],
            portalUsers: [
                .init(id: "u1", patient: "p1", role: .patient, active: true, name: "Rosa Diaz"),
                .init(id: "u2", patient: "p1", role: .authorizedRepresentative, active: true, name: "Luis Diaz",
                      email: "luis@example.org"),
                .init(id: "u9", patient: "p1", role: .authorizedRepresentative, active: false, name: "Old Guardian"),
                .init(id: "u3", patient: "p2", role: .patient, active: true, name: "Sam Lee"),
                .init(id: "u4", patient: "p3", role: .patient, active: true, name: "Ida Moss"),
                .init(id: "u5", patient: "p4", role: .patient, active: true, name: "Tom Reyes"),
                .init(id: "u6", patient: "p5", role: .patient, active: true, name: "Ana Ruiz"),
                .init(id: "u7", patient: "p6", role: .patient, active: false, name: "Joe Park"),
            ])
    }

    /// `count` active patients `P0…`, each with one active portal user `U0…` and an email, plus
    /// staff s1 with the bulk permission.
    static func generated(patients count: Int) -> Directory {
        Directory(
            staff: [.init(id: "s1", name: "Dr. Ada Shaw", permissions: [.sendBulkPortalMessage])],
            patients: (0..<count).map { .init(id: "P\($0)", name: "Patient \($0)", status: .active,
                                              email: "p\($0)@example.org", portalAccess: true) },
            portalUsers: (0..<count).map { .init(id: "U\($0)", patient: "P\($0)", role: .patient, active: true,
                                                 name: "Patient \($0)") })
    }
}

// MARK: Requests

func request(_ author: String = "s1", to: [String] = [], patient: String? = nil, subject: String? = "Follow-up",
             body: String? = "Please call us.") -> ComposeRequest {
    var request = ComposeRequest(author: author)
    request.to = to
    request.patient = patient
    request.subject = subject
    request.body = body.map(BodyInput.text)
    return request
}

// MARK: Snapshots and refusals

/// Total bytes of every file under `dir`.
func totalBytes(_ dir: String) -> Int {
    var total = 0
    let enumerator = FileManager.default.enumerator(atPath: dir)
    while let rel = enumerator?.nextObject() as? String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: dir + "/" + rel)
        if attributes?[.type] as? FileAttributeType == .typeRegular { total += attributes?[.size] as? Int ?? 0 }
    }
    return total
}

/// Runs `body`, expects a ``MessagingError`` of `code` whose message names everything in
/// `mentions`, and proves the store is byte-for-byte what it was before.
func expectRejected<T>(_ code: MessagingError.Code, in repository: Repository, mentions: [String] = [],
                       sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T) {
    let before = FileTree.snapshot(repository.store.root)
    do {
        _ = try body()
        Issue.record("expected \(code), but it succeeded", sourceLocation: sourceLocation)
    } catch let error as MessagingError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        for word in mentions {
            #expect(error.message.contains(word), "\"\(error.message)\" should mention \(word)", sourceLocation: sourceLocation)
        }
        #expect(!error.message.contains("\n"), sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected MessagingError.\(code), got \(error)", sourceLocation: sourceLocation)
    }
    let after = FileTree.snapshot(repository.store.root)
    #expect(after == before, "store changed: \(Set(after.keys).symmetricDifference(before.keys).sorted())",
            sourceLocation: sourceLocation)
}

/// The single thread a send created.
func onlyThread(_ result: SendResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> SentThread {
    try #require(result.threads.count == 1, sourceLocation: sourceLocation)
    return result.threads[0]
}


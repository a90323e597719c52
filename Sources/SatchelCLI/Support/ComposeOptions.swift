import ArgumentParser
import SatchelManifest
import SatchelMessaging

/// The compose flags of docs/CLI.md, shared by `compose` and `draft update`.
struct ComposeOptions: ParsableArguments {
    @Option(name: .customLong("as"), help: "Staff ID of the author.")
    var author: String?

    @Option(name: .customLong("to"), help: "Portal user ID (repeatable).")
    var to: [String] = []

    @Option(help: "Patient ID: all of that patient's active portal users (the chart's \"Message Patient\").")
    var patient: String?

    @Option(name: .customLong("to-staff"), help: "Other staff in To (repeatable).")
    var toStaff: [String] = []

    @Option(help: "Bulk recipients: active-patients, discharged-patients or all (needs sendBulkPortalMessage).")
    var bulk: String?

    @Option(name: .customLong("bcc-list"), help: "Staff distribution list for a hidden copy (repeatable; workstation only).")
    var bccLists: [String] = []

    @Option(help: "Subject.")
    var subject: String?

    @Option(help: "Body text.")
    var body: String?

    @Option(name: .customLong("body-file"), help: "File holding the body (any size; streamed).")
    var bodyFile: String?

    @Flag(help: "The body is rich text (bold, italic, strikethrough, lists, tables, alignment, links); anything else is removed.")
    var rich = false

    @Option(name: .customLong("attach"), help: "File to attach (repeatable).")
    var attachments: [String] = []

    @Flag(name: .customLong("allow-replies"), help: "Let the patient reply (default: the directory's setting).")
    var allowReplies = false

    @Flag(name: .customLong("no-replies"), help: "Do not let the patient reply.")
    var noReplies = false

    @Option(help: "Message template ID (supplies subject and body when not given).")
    var template: String?

    func validate() throws {
        if body != nil && bodyFile != nil { throw ValidationError("give --body or --body-file, not both") }
        if allowReplies && noReplies { throw ValidationError("give --allow-replies or --no-replies, not both") }
        if let bulk, DraftManifest.Bulk(rawValue: bulk) == nil {
            throw ValidationError("--bulk must be active-patients, discharged-patients or all")
        }
    }

    var replies: Bool? { allowReplies ? true : (noReplies ? false : nil) }
    var bulkOption: DraftManifest.Bulk? { bulk.flatMap(DraftManifest.Bulk.init(rawValue:)) }
    var bodyInput: BodyInput? { body.map(BodyInput.text) ?? bodyFile.map { .file(path: $0) } }

    func request() throws -> ComposeRequest {
        guard let author else { throw ValidationError("--as STAFF is required") }
        var request = ComposeRequest(author: author)
        request.to = to
        request.patient = patient
        request.toStaff = toStaff
        request.bulk = bulkOption
        request.bccLists = bccLists
        request.subject = subject
        request.body = bodyInput
        request.rich = rich
        request.attachments = attachments.map { .file(path: $0) }
        request.allowReplies = replies
        request.template = template
        return request
    }

    func update() -> DraftUpdate {
        var update = DraftUpdate()
        if !to.isEmpty { update.to = to }
        update.patient = patient
        if !toStaff.isEmpty { update.toStaff = toStaff }
        update.bulk = bulkOption
        if !bccLists.isEmpty { update.bccLists = bccLists }
        update.subject = subject
        update.body = bodyInput
        if rich { update.rich = true }
        update.addAttachments = attachments.map { .file(path: $0) }
        update.allowReplies = replies
        update.template = template
        return update
    }
}

/// JSON shapes shared by several commands (docs/CLI.md).
struct SendJSON: Encodable {
    struct Thread: Encodable { var thread, message, patient: String; var recipients: [String] }
    struct Skipped: Encodable { var portalUser, reason: String }
    var threads: [Thread]
    var skipped: [Skipped]

    init(_ result: SendResult) {
        threads = result.threads.map { Thread(thread: $0.thread, message: $0.message, patient: $0.patient, recipients: $0.recipients) }
        skipped = result.skipped.map { Skipped(portalUser: $0.portalUser, reason: $0.reason) }
    }
}

struct AttachmentJSON: Encodable {
    var name, mediaType: String
    var size: UInt64
    var sha256: String

    init(_ reference: AttachmentReference) {
        name = reference.name
        mediaType = reference.mediaType
        size = reference.size
        sha256 = reference.sha256
    }
}

/// Custom labels from the directory (Patient → Client) for human output.
struct Labels {
    var patient = "patient"

    init(_ repository: Repository) {
        if let directory = try? repository.directory(),
           let label = directory.settings.labels.first(where: { $0.key.lowercased() == "patient" }) {
            patient = label.value.lowercased()
        }
    }
}

func printSend(_ result: SendResult, json: Bool, labels: Labels) throws {
    if json {
        try Output.json(SendJSON(result))
        return
    }
    let threads = result.threads.count
    Output.line("Sent \(threads) thread\(threads == 1 ? "" : "s") (one per \(labels.patient)).")
    for thread in result.threads {
        Output.line("  \(thread.thread)  \(labels.patient) \(thread.patient)  to \(thread.recipients.joined(separator: ", "))")
    }
    for skip in result.skipped { Output.line("  skipped \(skip.portalUser): \(skip.reason)") }
}

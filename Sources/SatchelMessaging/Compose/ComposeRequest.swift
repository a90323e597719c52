import SatchelManifest
import SatchelStore

/// Where a body comes from.
public enum BodyInput: Sendable, Equatable {
    /// Text given directly.
    case text(String)
    /// A file, streamed (no length limit).
    case file(path: String)
    /// Content already in the store (a draft's body, a template rendered earlier).
    case stored(BodyReference)
}

/// Where an attachment comes from.
public enum AttachmentInput: Sendable, Equatable {
    /// A file to upload, streamed; `name` overrides the file's own name.
    case file(path: String, name: String? = nil)
    /// An attachment already in the store (from a draft, or the patient's chart).
    case stored(AttachmentReference)
}

/// Everything compose takes (docs/CLI.md `satchel compose`).
public struct ComposeRequest: Sendable, Equatable {
    /// Staff ID of the author.
    public var author: String
    /// Portal user IDs.
    public var to: [String] = []
    /// "Message Patient": all of that patient's active portal users.
    public var patient: String?
    /// Other staff in To.
    public var toStaff: [String] = []
    public var bulk: DraftManifest.Bulk?
    /// Distribution list IDs whose members get a hidden copy (Staff Bcc).
    public var bccLists: [String] = []
    public var subject: String?
    public var body: BodyInput?
    /// Body is rich text (sanitized by allow-list) instead of plain.
    public var rich = false
    public var attachments: [AttachmentInput] = []
    /// nil: the directory's default.
    public var allowReplies: Bool?
    /// Message template ID; supplies subject and body when they are not given.
    public var template: String?

    public init(author: String) { self.author = author }
}

/// One thread a send created.
public struct SentThread: Sendable, Equatable {
    public var thread: String
    public var message: String
    public var patient: String
    public var recipients: [String]
}

/// A portal user a send left out, and why (bulk sends skip rather than refuse).
public struct SkippedRecipient: Sendable, Equatable {
    public var portalUser: String
    public var reason: String
}

public struct SendResult: Sendable, Equatable {
    public var threads: [SentThread]
    public var skipped: [SkippedRecipient]
}

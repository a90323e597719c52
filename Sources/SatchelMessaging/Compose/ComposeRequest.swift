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
    /// Bulk recipients: the portal users of active, discharged or all patients, ineligible ones
    /// skipped (needs the `sendBulkPortalMessage` permission).
    public var bulk: DraftManifest.Bulk?
    /// Distribution list IDs whose members get a hidden copy (Staff Bcc).
    public var bccLists: [String] = []
    /// The subject; nil takes the template's.
    public var subject: String?
    /// The body; nil takes the template's.
    public var body: BodyInput?
    /// Body is rich text (sanitized by allow-list) instead of plain.
    public var rich = false
    /// Files to attach, stored once and referenced by every thread the send creates.
    public var attachments: [AttachmentInput] = []
    /// nil: the directory's default.
    public var allowReplies: Bool?
    /// Message template ID; supplies subject and body when they are not given.
    public var template: String?

    /// A request by staff member `author`, with nothing else set yet.
    public init(author: String) { self.author = author }
}

/// One thread a send created.
public struct SentThread: Sendable, Equatable {
    /// The new thread's ID.
    public var thread: String
    /// The ID of its first message.
    public var message: String
    /// The patient ID the thread belongs to.
    public var patient: String
    /// Portal user IDs the message went to.
    public var recipients: [String]
}

/// A portal user a send left out, and why (bulk sends skip rather than refuse).
public struct SkippedRecipient: Sendable, Equatable {
    /// The portal user ID left out.
    public var portalUser: String
    /// Why they cannot receive portal messages now (no access, or no address to be told at).
    public var reason: String
}

/// What a send did: the threads it created and the portal users it left out.
public struct SendResult: Sendable, Equatable {
    /// The threads created, one per patient the message went to.
    public var threads: [SentThread]
    /// Portal users left out by a bulk or `--patient` send, with the reason.
    public var skipped: [SkippedRecipient]
}

/// A draft (vocabulary `urn:satchel:draft:1`): staff-only, never written to a portal store or a
/// bundle bound for one. Holds everything compose needs to send later, including Staff Bcc lists.
/// Concurrent versions are siblings told apart by their version vectors (see ``DraftSet``).
///
/// A draft that was sent or discarded is not deleted but replaced by a *tombstone*: a draft with
/// `state` set, a version vector that dominates what it replaced, and nothing else (no
/// recipients, subject, body or attachments). Sync can then tell "sent here" from "never had
/// it", and a concurrent edit elsewhere survives as a sibling.
///
/// ```xml
/// <draft xmlns="urn:satchel:draft:1" allowReplies="true" author="s1" id="d1" patient="p1"
///        updated="2026-05-01T10:00:00Z">
///   <version><counter replica="ws-1" value="2"/></version>
///   <recipient portalUser="u1"/><toStaff staff="s2"/><bccList list="nursing"/>
///   <subject>Follow-up</subject><body format="plain" length="120" object="sha256:…"/>
/// </draft>
/// ```
public struct DraftManifest: Manifest, Hashable {
    public static let vocabulary = Vocabulary.draft

    /// Compose's bulk recipient options.
    public enum Bulk: String, Sendable, CaseIterable {
        case activePatients = "active-patients"
        case dischargedPatients = "discharged-patients"
        case all
    }

    /// Why a draft is no longer live. Absent on a live draft.
    public enum State: String, Sendable, CaseIterable {
        case sent
        case discarded
    }

    /// Draft ID (`D-…`), the same across all its versions.
    public var id: String
    /// nil: a live draft; set: a tombstone (see the type's documentation).
    public var state: State?
    /// Staff ID.
    public var author: String
    /// When this version was written.
    public var updated: Timestamp
    /// This version's vector: the join of every version it replaced, plus one edit.
    public var version: VersionVector
    /// Set when the draft is a reply in an existing thread.
    public var thread: String?
    /// Set for "Message Patient" (all that patient's active portal users).
    public var patient: String?
    /// Bulk recipients, when chosen.
    public var bulk: Bulk?
    /// Message template ID.
    public var template: String?
    /// nil: the directory default.
    public var allowReplies: Bool?
    /// Portal user IDs.
    public var recipients: [String]
    /// Staff IDs in To.
    public var toStaff: [String]
    /// Distribution list IDs for Staff Bcc.
    public var bccLists: [String]
    /// Subject, once given.
    public var subject: String?
    /// Body blob, once given.
    public var body: BodyReference?
    /// Attachments added so far.
    public var attachments: [AttachmentReference]

    /// A draft version.
    public init(id: String, author: String, updated: Timestamp, version: VersionVector, thread: String? = nil,
                patient: String? = nil, bulk: Bulk? = nil, template: String? = nil, allowReplies: Bool? = nil,
                recipients: [String] = [], toStaff: [String] = [], bccLists: [String] = [],
                subject: String? = nil, body: BodyReference? = nil, attachments: [AttachmentReference] = []) {
        self.id = id
        self.author = author
        self.updated = updated
        self.version = version
        self.thread = thread
        self.patient = patient
        self.bulk = bulk
        self.template = template
        self.allowReplies = allowReplies
        self.recipients = recipients
        self.toStaff = toStaff
        self.bccLists = bccLists
        self.subject = subject
        self.body = body
        self.attachments = attachments
        self.state = nil
    }

    /// The tombstone of a draft: `state`, its ID, author and the given time and version; no content.
    public static func tombstone(id: String, author: String, state: State, updated: Timestamp,
                                 version: VersionVector) -> DraftManifest {
        var draft = DraftManifest(id: id, author: author, updated: updated, version: version)
        draft.state = state
        return draft
    }

    /// True for a sent or discarded draft.
    public var isTombstone: Bool { state != nil }

    /// Children in order: `version`, `recipient`*, `toStaff`*, `bccList`*, `subject`?, `body`?,
    /// `attachment`*.
    public func encode(to w: CanonicalWriter) throws {
        try w.start("draft", [
            ("allowReplies", allowReplies.map { String($0) }), ("author", author), ("bulk", bulk?.rawValue),
            ("id", id), ("patient", patient), ("state", state?.rawValue), ("template", template), ("thread", thread),
            ("updated", updated.description),
        ])
        try version.encode(to: w)
        for r in recipients { try w.empty("recipient", [("portalUser", r)]) }
        for s in toStaff { try w.empty("toStaff", [("staff", s)]) }
        for l in bccLists { try w.empty("bccList", [("list", l)]) }
        if let subject { try w.textElement("subject", subject) }
        try body?.encode(to: w)
        for a in attachments { try a.encode(to: w) }
        try w.end()
    }

    public init(element: ManifestElement) throws(ManifestError) {
        let ns = Self.vocabulary.namespace
        var r = try ElementReader(element, name: "draft", namespace: ns)
        id = try r.string("id")
        author = try r.string("author")
        updated = try r.timestamp("updated")
        thread = r.optionalString("thread")
        patient = r.optionalString("patient")
        bulk = try r.optionalValue("bulk")
        template = r.optionalString("template")
        allowReplies = try r.optionalBool("allowReplies")
        state = try r.optionalValue("state")
        try r.finish()
        var version = SingleChild(), subject = SingleChild(), body = SingleChild()
        recipients = []
        toStaff = []
        bccLists = []
        attachments = []
        for child in try r.children(namespace: ns) {
            switch child.name {
            case "version": try version.set(child)
            case "subject": try subject.set(child)
            case "body": try body.set(child)
            case "recipient": recipients.append(try MessageManifest.single(child, "portalUser", ns))
            case "toStaff": toStaff.append(try MessageManifest.single(child, "staff", ns))
            case "bccList": bccLists.append(try MessageManifest.single(child, "list", ns))
            case "attachment": attachments.append(try AttachmentReference(element: child, namespace: ns))
            default: throw child.unexpectedChild()
            }
        }
        self.version = try VersionVector(element: try version.required(in: element, "version"), namespace: ns)
        if let s = subject.value {
            let reader = try ElementReader(s, name: "subject", namespace: ns)
            self.subject = try reader.textOnly()
            try reader.finish(textAllowed: true)
        } else {
            self.subject = nil
        }
        self.body = try body.value.map { (e) throws(ManifestError) in try BodyReference(element: e, namespace: ns) }
        if state != nil, thread != nil || patient != nil || bulk != nil || template != nil || allowReplies != nil
            || !recipients.isEmpty || !toStaff.isEmpty || !bccLists.isEmpty || self.subject != nil || self.body != nil
            || !attachments.isEmpty {
            throw element.error(.unexpected, "a <draft> with a state is a tombstone and carries only id, author, updated and version")
        }
    }
}

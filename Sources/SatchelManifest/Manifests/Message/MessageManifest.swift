/// One sent message (vocabulary `urn:satchel:message:1`). Immutable once written and
/// patient-visible: there is deliberately no field for Bcc (that is ``StaffEnvelope``).
///
/// ```xml
/// <message xmlns="urn:satchel:message:1" id="m1" sent="2026-05-01T10:00:00Z" thread="t1">
///   <author id="s1" kind="staff"/><recipient portalUser="u1"/><toStaff staff="s2"/>
///   <subject>Your lab results</subject>
///   <body format="plain" length="812" object="sha256:…"/>
///   <attachment mediaType="application/pdf" name="labs.pdf" object="sha256:…" size="48213"/>
/// </message>
/// ```
public struct MessageManifest: Manifest, Hashable {
    public static let vocabulary = Vocabulary.message

    /// Who wrote the message.
    public struct Author: Sendable, Hashable {
        /// Staff member or portal user.
        public enum Kind: String, Sendable, CaseIterable { case staff, portalUser }
        /// The author's staff or portal user ID.
        public var id: String
        /// Which kind of person the ID names.
        public var kind: Kind
        /// An author.
        public init(id: String, kind: Kind) {
            self.id = id
            self.kind = kind
        }
    }

    /// Message ID (`M-…`).
    public var id: String
    /// The thread it belongs to.
    public var thread: String
    /// Who wrote it.
    public var author: Author
    /// When it was sent.
    public var sent: Timestamp
    /// Portal user IDs, in compose order.
    public var recipients: [String]
    /// Staff IDs in To, in compose order.
    public var toStaff: [String]
    /// Subject line.
    public var subject: String
    /// The body blob, its format and length.
    public var body: BodyReference
    /// Attachments, in compose order.
    public var attachments: [AttachmentReference]
    /// The causal context: the thread's version vector when the message was written (empty for
    /// the message that opens a thread). Sync uses it to refuse a patient reply written after
    /// the replier had seen the thread closed. Written as `<version>` after the attachments.
    public var context: VersionVector

    /// A message.
    public init(id: String, thread: String, author: Author, sent: Timestamp, recipients: [String] = [],
                toStaff: [String] = [], subject: String, body: BodyReference,
                attachments: [AttachmentReference] = [], context: VersionVector = VersionVector()) {
        self.id = id
        self.thread = thread
        self.author = author
        self.sent = sent
        self.recipients = recipients
        self.toStaff = toStaff
        self.subject = subject
        self.body = body
        self.attachments = attachments
        self.context = context
    }

    /// Children in order: `author`, `recipient`*, `toStaff`*, `subject`, `body`, `attachment`*.
    public func encode(to w: CanonicalWriter) throws {
        try w.start("message", [("id", id), ("sent", sent.description), ("thread", thread)])
        try w.empty("author", [("id", author.id), ("kind", author.kind.rawValue)])
        for r in recipients { try w.empty("recipient", [("portalUser", r)]) }
        for s in toStaff { try w.empty("toStaff", [("staff", s)]) }
        try w.textElement("subject", subject)
        try body.encode(to: w)
        for a in attachments { try a.encode(to: w) }
        try context.encode(to: w)
        try w.end()
    }

    public init(element: ManifestElement) throws(ManifestError) {
        let ns = Self.vocabulary.namespace
        var r = try ElementReader(element, name: "message", namespace: ns)
        id = try r.string("id")
        sent = try r.timestamp("sent")
        thread = try r.string("thread")
        try r.finish()
        var author = SingleChild(), subject = SingleChild(), body = SingleChild(), context = SingleChild()
        recipients = []
        toStaff = []
        attachments = []
        for child in try r.children(namespace: ns) {
            switch child.name {
            case "author": try author.set(child)
            case "subject": try subject.set(child)
            case "body": try body.set(child)
            case "recipient": recipients.append(try Self.single(child, "portalUser", ns))
            case "toStaff": toStaff.append(try Self.single(child, "staff", ns))
            case "attachment": attachments.append(try AttachmentReference(element: child, namespace: ns))
            case "version": try context.set(child)
            default: throw child.unexpectedChild()
            }
        }
        var a = try ElementReader(try author.required(in: element, "author"), name: "author", namespace: ns)
        self.author = Author(id: try a.string("id"), kind: try a.value("kind"))
        try a.finish()
        let s = try ElementReader(try subject.required(in: element, "subject"), name: "subject", namespace: ns)
        self.subject = try s.textOnly()
        try s.finish(textAllowed: true)
        self.body = try BodyReference(element: try body.required(in: element, "body"), namespace: ns)
        self.context = try VersionVector(element: try context.required(in: element, "version"), namespace: ns)
    }

    /// `<name attribute="…"/>` with nothing else.
    static func single(_ element: ManifestElement, _ attribute: String, _ ns: String) throws(ManifestError) -> String {
        var r = try ElementReader(element, name: element.name, namespace: ns)
        let value = try r.string(attribute)
        try r.finish()
        if let extra = element.children.first { throw extra.unexpectedChild() }
        return value
    }
}

import SatchelStore

/// One immutable flag event of a thread (vocabulary `urn:satchel:event:1`): who closed, reopened,
/// turned replies on or off, or read the thread, when, with which dot, and what the thread's
/// history was at that moment (its causal context). Patient-visible: no Bcc, no drafts.
///
/// Messages are the other kind of event; they are their own manifests (``MessageManifest``).
/// A thread head (``ThreadManifest``) lists every event by object ID and repeats the fields that
/// its state is computed from, so that listing threads reads heads only; bundle apply checks that
/// the two agree.
///
/// ```xml
/// <event xmlns="urn:satchel:event:1" at="2026-05-01T10:00:00Z" counter="3" kind="close"
///        replica="R-…" thread="T-…"><by id="s1" role="staff"/><version>…</version></event>
/// ```
public struct ThreadEvent: Manifest, Hashable {
    public static let vocabulary = Vocabulary.event

    /// The kinds an event manifest can have (``ThreadManifest/Event/Kind`` less `message`).
    public static let kinds: Set<ThreadManifest.Event.Kind> = [.close, .reopen, .repliesOn, .repliesOff, .read]

    /// The thread the event belongs to.
    public var thread: String
    /// What happened (never `message`).
    public var kind: ThreadManifest.Event.Kind
    /// The event's identity: its replica and that replica's counter after it.
    public var dot: Dot
    /// When it happened.
    public var at: Timestamp
    /// Who did it (staff for flag events; the reader for `read`).
    public var by: MessageManifest.Author
    /// The thread's version vector when the event was made (before its own dot).
    public var context: VersionVector

    /// An event; `kind` must not be `message` (messages are ``MessageManifest``s).
    public init(thread: String, kind: ThreadManifest.Event.Kind, dot: Dot, at: Timestamp,
                by: MessageManifest.Author, context: VersionVector) {
        precondition(Self.kinds.contains(kind), "message events are message manifests")
        self.thread = thread
        self.kind = kind
        self.dot = dot
        self.at = at
        self.by = by
        self.context = context
    }

    /// Children in order: `by`, `version`.
    public func encode(to w: CanonicalWriter) throws {
        try w.start("event", [("at", at.description), ("counter", String(dot.counter)), ("kind", kind.rawValue),
                              ("replica", dot.replica), ("thread", thread)])
        try w.empty("by", [("id", by.id), ("role", by.kind.rawValue)])
        try context.encode(to: w)
        try w.end()
    }

    public init(element: ManifestElement) throws(ManifestError) {
        let ns = Self.vocabulary.namespace
        var r = try ElementReader(element, name: "event", namespace: ns)
        at = try r.timestamp("at")
        let counter = try r.uint64("counter", minimum: 1)
        let kind: ThreadManifest.Event.Kind = try r.value("kind")
        dot = Dot(replica: try r.string("replica"), counter: counter)
        thread = try r.string("thread")
        try r.finish()
        guard Self.kinds.contains(kind) else {
            throw element.error(.invalidValue, "an event manifest cannot be of kind \(kind.rawValue)")
        }
        self.kind = kind
        var by = SingleChild(), version = SingleChild()
        for child in try r.children(namespace: ns) {
            switch child.name {
            case "by": try by.set(child)
            case "version": try version.set(child)
            default: throw child.unexpectedChild()
            }
        }
        var b = try ElementReader(try by.required(in: element, "by"), name: "by", namespace: ns)
        self.by = MessageManifest.Author(id: try b.string("id"), kind: try b.value("role"))
        try b.finish()
        if let extra = b.element.children.first { throw extra.unexpectedChild() }
        context = try VersionVector(element: try version.required(in: element, "version"), namespace: ns)
        guard !context.covers(dot) else {
            throw element.error(.invalidValue, "an event's context cannot already contain the event's own dot")
        }
    }
}

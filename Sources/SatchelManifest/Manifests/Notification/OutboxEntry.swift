/// One queued notification on a portal store (vocabulary `urn:satchel:notification:1`): a
/// message became readable and a recipient is told so by email or SMS. Portal-local: never
/// synced. The text carries a link and no PHI.
///
/// ```xml
/// <notification xmlns="urn:satchel:notification:1" address="rosa@example.org" channel="email"
///   created="2026-05-01T10:00:00Z" id="N-1" message="M-1" recipient="u1" status="pending"
///   thread="T-1" updated="2026-05-01T10:00:00Z"><text>You have a new secure message: https://…</text></notification>
/// ```
public struct OutboxEntry: Manifest, Hashable {
    public static let vocabulary = Vocabulary.notification

    /// How the notification is sent.
    public enum Channel: String, Sendable, CaseIterable { case email, sms }
    /// `pending` until delivered, `sent`, or `failed` (retried after ``retryAt``).
    public enum Status: String, Sendable, CaseIterable { case pending, sent, failed }

    /// Notification ID, stable across retries (gateways deduplicate by it).
    public var id: String
    /// The thread the link points at.
    public var thread: String
    /// The message that became readable (or the reply that triggered a staff notification).
    public var message: String
    /// Portal user ID, or staff ID for a staff notification of a patient's reply.
    public var recipient: String
    /// Email or SMS.
    public var channel: Channel
    /// Email address or cellphone number.
    public var address: String
    /// The notification text, from a directory template: a link, no PHI.
    public var text: String
    /// Delivery state.
    public var status: Status
    /// When it was queued.
    public var created: Timestamp
    /// When its status last changed.
    public var updated: Timestamp
    /// Delivery attempts started (recorded before the gateway runs; absent = 0).
    public var attempts: Int
    /// Not handed to the gateway again before this time (set with each attempt: the backoff).
    public var retryAt: Timestamp?

    /// A notification.
    public init(id: String, thread: String, message: String, recipient: String, channel: Channel, address: String,
                text: String, status: Status, created: Timestamp, updated: Timestamp, attempts: Int = 0,
                retryAt: Timestamp? = nil) {
        self.attempts = attempts
        self.retryAt = retryAt
        self.id = id
        self.thread = thread
        self.message = message
        self.recipient = recipient
        self.channel = channel
        self.address = address
        self.text = text
        self.status = status
        self.created = created
        self.updated = updated
    }

    public func encode(to w: CanonicalWriter) throws {
        try w.start("notification", [
            ("address", address), ("attempts", attempts == 0 ? nil : String(attempts)), ("channel", channel.rawValue),
            ("created", created.description), ("id", id), ("message", message), ("recipient", recipient),
            ("retryAt", retryAt?.description), ("status", status.rawValue), ("thread", thread),
            ("updated", updated.description),
        ])
        try w.textElement("text", text)
        try w.end()
    }

    public init(element: ManifestElement) throws(ManifestError) {
        let ns = Self.vocabulary.namespace
        var r = try ElementReader(element, name: "notification", namespace: ns)
        address = try r.string("address")
        attempts = r.has("attempts") ? Int(clamping: try r.uint64("attempts")) : 0
        retryAt = r.has("retryAt") ? try r.timestamp("retryAt") : nil
        channel = try r.value("channel")
        created = try r.timestamp("created")
        id = try r.string("id")
        message = try r.string("message")
        recipient = try r.string("recipient")
        status = try r.value("status")
        thread = try r.string("thread")
        updated = try r.timestamp("updated")
        try r.finish()
        var text = SingleChild()
        for child in try r.children(namespace: ns) {
            guard child.name == "text" else { throw child.unexpectedChild() }
            try text.set(child)
        }
        let textElement = try text.required(in: element, "text")
        self.text = try ElementReader(textElement, name: "text", namespace: ns).textOnly()
    }
}

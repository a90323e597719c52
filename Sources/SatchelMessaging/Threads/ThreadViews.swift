import SatchelManifest
import SatchelStore

/// A thread in a list (docs/CLI.md `thread list`).
public struct ThreadSummary: Sendable, Equatable {
    /// The thread ID.
    public var thread: String
    /// The patient ID the thread belongs to.
    public var patient: String
    /// The subject.
    public var subject: String
    /// Open or closed.
    public var status: ThreadManifest.Status
    /// Whether patients may reply.
    public var allowReplies: Bool
    /// How many messages it counts: quarantined ones are left out except in a staff list.
    public var messages: Int
    /// The thread's version vector, as counters by replica ID.
    public var version: [String: UInt64]
    /// When the last counted message was sent (the thread's creation time if none).
    public var updated: Timestamp
}

/// One message as a viewer may see it.
public struct MessageView: Sendable, Equatable {
    /// The message ID.
    public var message: String
    /// The author's staff or portal user ID.
    public var author: String
    /// Whether the author is staff or a portal user.
    public var authorKind: MessageManifest.Author.Kind
    /// When it was sent.
    public var sent: Timestamp
    /// Portal user IDs it was sent to.
    public var recipients: [String]
    /// Staff IDs in To.
    public var toStaff: [String]
    /// The subject.
    public var subject: String
    /// The body text; empty when ``bodyOmitted`` (too large to show inline).
    public var body: String
    /// Plain or rich text.
    public var bodyFormat: BodyReference.Format
    /// The body's size in bytes (from the store, not the manifest).
    public var bodySize: UInt64
    /// True when the body is larger than the view's inline limit: the view shows a marker and
    /// the body is fetched with ``Repository/exportBody(thread:message:as:to:)``
    /// (`satchel body get THREAD MESSAGE -o FILE`).
    public var bodyOmitted: Bool
    /// The message's attachments.
    public var attachments: [AttachmentReference]
    /// Staff Bcc: present only in staff views (nil for portal users, always).
    public var bcc: [String]?
}

/// One event of a thread as a viewer may see it (docs/CLI.md `thread show` `events`).
public struct EventView: Sendable, Equatable {
    /// `replica:counter` (the event's dot), or the message ID for a legacy message.
    public var event: String
    /// What the event is.
    public var kind: ThreadManifest.Event.Kind
    /// Who made it (nil only for a legacy flag event from a version 1 head).
    public var by: String?
    /// When it happened (for a message, when it was sent).
    public var at: Timestamp
}

/// A whole thread as a viewer may see it (docs/CLI.md `thread show`).
public struct ThreadView: Sendable, Equatable {
    /// The thread as it appears in a list.
    public var summary: ThreadSummary
    /// The object ID of the thread's head manifest.
    public var head: ObjectID
    /// Flag edits that lost to a concurrent, more restrictive one.
    public var conflicts: [ThreadManifest.FlagConflict]
    /// The messages, sorted by (sent, ID); quarantined ones are left out.
    public var messages: [MessageView]
    /// Who did what, in order (messages a patient may not see are left out of a patient's view).
    public var events: [EventView]
    /// Messages and flag events that broke a rule (only faulty or hostile peers make them): kept
    /// for staff with the reason, never shown to portal users (always empty in their views).
    public var quarantined: [Quarantined]
    /// Staff views: whether this store keeps Staff Bcc (true on a workstation). A portal never
    /// does, so a staff view there says `false` (Bcc not known here, which is not "no Bcc") and
    /// its messages have no ``MessageView/bcc``. Nil in a portal user's view (never any Bcc).
    public var bccKept: Bool?

    /// True for a staff member's view (``bccKept`` is set), false for a portal user's.
    public var isStaffView: Bool { bccKept != nil }
}

extension Repository {
    /// Largest body `thread show` loads into memory.
    public static let viewBodyLimit = 256 << 20
    /// Largest body a thread view shows inline; larger ones get a marker (size, and how to
    /// fetch: ``exportBody(thread:message:as:to:)``), so one large body never fails a view.
    public static let inlineBodyLimit = 8 << 20

    /// Threads, newest activity first. `viewer` limits the list to what that person may see
    /// (Access.swift): staff see every thread; a portal user with access sees threads of their
    /// own patient in which they are a recipient or author; one without access is refused.
    public func threads(patient: String? = nil, as viewer: String? = nil) throws -> [ThreadSummary] {
        let user = try viewer.flatMap { try portalViewer($0) }
        var result: [ThreadSummary] = []
        for (_, head) in try store.refs.list(prefix: "threads/") {
            let thread = try load(ThreadManifest.self, head)
            if let patient, thread.patient != patient { continue }
            if let user {
                guard try visible(thread, to: user) else { continue }
                // A portal user's list never counts (or dates by) a quarantined message: its
                // existence is not theirs to see. (Staff lists count it; `thread show` lists it.)
                let hidden = try MessagingRules.quarantined(thread) { try message($0) }.map(\.message)
                result.append(summary(thread, hidden: Set(hidden)))
            } else {
                result.append(summary(thread))
            }
        }
        return result.sorted { ($0.updated, $0.thread) > ($1.updated, $1.thread) }
    }

    /// One thread with its messages and bodies. A portal viewer gets exactly what they may see
    /// (never Bcc); a thread they may not see is "not found", so its existence does not leak.
    /// Bodies over `inlineLimit` bytes are left out with a marker (``MessageView/bodyOmitted``).
    public func threadView(_ id: String, as viewer: String? = nil, inlineLimit: Int = inlineBodyLimit) throws -> ThreadView {
        let user = try viewer.flatMap { try portalViewer($0) }
        let (head, thread) = try thread(id)
        if let user, try !visible(thread, to: user) { throw MessagingError.notFound("thread \(id) not found") }
        let bccKept: Bool? = user == nil ? !isPortal : nil
        var envelopes: [String: StaffEnvelope] = [:]
        if bccKept == true {
            for (_, object) in try store.refs.list(prefix: "envelopes/\(id)/") {
                let envelope = try load(StaffEnvelope.self, object)
                envelopes[envelope.message] = envelope
            }
        }
        // Each message manifest is decoded once: for the rules, then for the view.
        var loaded: [ObjectID: MessageManifest] = [:]
        let quarantined = try MessagingRules.quarantined(thread) { event in
            let m = try message(event)
            if let object = event.object { loaded[object] = m }
            return m
        }
        let hidden = Set(quarantined.map(\.message))
        var messages: [MessageView] = []
        for reference in thread.messages where !hidden.contains(reference.id) {
            let message = try loaded[reference.object] ?? load(MessageManifest.self, reference.object)
            let size = try store.info(message.body.object).length
            let omitted = size > UInt64(min(inlineLimit, Self.viewBodyLimit))
            let body = try omitted ? [] : store.read(message.body.object, limit: Self.viewBodyLimit).bytes
            messages.append(MessageView(
                message: message.id, author: message.author.id, authorKind: message.author.kind, sent: message.sent,
                recipients: message.recipients, toStaff: message.toStaff, subject: message.subject,
                body: String(decoding: body, as: UTF8.self), bodyFormat: message.body.format,
                bodySize: size, bodyOmitted: omitted,
                attachments: message.attachments, bcc: bccKept == true ? (envelopes[message.id]?.bccStaff ?? []) : nil))
        }
        var events: [EventView] = []
        for event in thread.events {
            let name = event.dot.map { "\($0.replica):\($0.counter)" } ?? event.message ?? ""
            if hidden.contains(event.message ?? name) { continue }
            events.append(EventView(event: name, kind: event.kind, by: event.by?.id, at: event.at))
        }
        return ThreadView(summary: summary(thread, hidden: hidden), head: head, conflicts: thread.conflicts,
                          messages: messages, events: events, quarantined: user == nil ? quarantined : [],
                          bccKept: bccKept)
    }

    /// The message manifest an event names.
    func message(_ event: ThreadManifest.Event) throws -> MessageManifest {
        guard let object = event.object else {
            throw MessagingError(.invalidInput, "a message event has no object")
        }
        return try load(MessageManifest.self, object)
    }

    /// The attachment `name` of a message, checked to belong to the thread and, with
    /// `viewer`, to be visible to that person now (Access.swift).
    public func attachment(thread threadID: String, message messageID: String, name: String,
                           as viewer: String? = nil) throws -> AttachmentReference {
        let message = try viewableMessage(thread: threadID, message: messageID, as: viewer)
        guard let attachment = message.attachments.first(where: { $0.name == name }) else {
            throw MessagingError.notFound("message \(messageID) has no attachment with that name")
        }
        return attachment
    }

    /// Streams an attachment to a new file, published only once its content is verified.
    public func exportAttachment(_ attachment: AttachmentReference, to path: String) throws {
        try store.export(attachment.object, to: path)
    }

    /// Streams a message body (any size) to a new file, published only once verified; with
    /// `viewer`, only what that person may see now. Returns the body's reference.
    @discardableResult
    public func exportBody(thread threadID: String, message messageID: String, as viewer: String? = nil,
                           to path: String) throws -> BodyReference {
        let message = try viewableMessage(thread: threadID, message: messageID, as: viewer)
        try store.export(message.body.object, to: path)
        return message.body
    }

    /// A message of a thread, after the viewer's access and visibility checks.
    private func viewableMessage(thread threadID: String, message messageID: String, as viewer: String?) throws -> MessageManifest {
        let user = try viewer.flatMap { try portalViewer($0) }
        let (_, thread) = try thread(threadID)
        if let user, try !visible(thread, to: user) { throw MessagingError.notFound("thread \(threadID) not found") }
        guard let reference = thread.messages.first(where: { $0.id == messageID }) else {
            throw MessagingError.notFound("message \(messageID) not found in thread \(threadID)")
        }
        return try load(MessageManifest.self, reference.object)
    }

    func summary(_ thread: ThreadManifest, hidden: Set<String> = []) -> ThreadSummary {
        let messages = thread.messages.filter { !hidden.contains($0.id) }
        return ThreadSummary(thread: thread.id, patient: thread.patient, subject: thread.subject, status: thread.status,
                             allowReplies: thread.allowReplies, messages: messages.count,
                             version: thread.version.counters, updated: messages.last?.sent ?? thread.created)
    }

    /// The portal user a view is limited to, checked for access now; nil for staff (who see
    /// every thread). Refused (exit 77) for a portal user without access; unknown IDs are
    /// "not found".
    func portalViewer(_ id: String) throws -> Directory.PortalUser? {
        switch try access().viewer(id) {
        case .staff: nil
        case .portalUser(let user): user
        }
    }

    /// A portal user sees their own patient's threads in which they received or wrote a message
    /// that is not quarantined.
    func visible(_ thread: ThreadManifest, to user: Directory.PortalUser) throws -> Bool {
        guard thread.patient == user.patient else { return false }
        for event in thread.events where event.kind == .message {
            let message = try message(event)
            guard message.recipients.contains(user.id) || message.author.id == user.id else { continue }
            if MessagingRules.judge(message, event: event, in: thread) == nil { return true }
        }
        return false
    }
}

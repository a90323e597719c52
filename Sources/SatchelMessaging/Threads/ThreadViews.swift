import SatchelManifest
import SatchelStore

/// A thread in a list (CONTRACT.md `thread list`).
public struct ThreadSummary: Sendable, Equatable {
    public var thread: String
    public var patient: String
    public var subject: String
    public var status: ThreadManifest.Status
    public var allowReplies: Bool
    public var messages: Int
    public var version: [String: UInt64]
    public var updated: Timestamp
}

/// One message as a viewer may see it.
public struct MessageView: Sendable, Equatable {
    public var message: String
    public var author: String
    public var authorKind: MessageManifest.Author.Kind
    public var sent: Timestamp
    public var recipients: [String]
    public var toStaff: [String]
    public var subject: String
    public var body: String
    public var bodyFormat: BodyReference.Format
    public var attachments: [AttachmentReference]
    /// Staff Bcc: present only in staff views (nil for portal users, always).
    public var bcc: [String]?
}

/// One event of a thread as a viewer may see it (CONTRACT.md `thread show` `events`).
public struct EventView: Sendable, Equatable {
    /// `replica:counter` (the event's dot), or the message ID for a legacy message.
    public var event: String
    public var kind: ThreadManifest.Event.Kind
    /// Who made it (nil only for a legacy flag event from a version 1 head).
    public var by: String?
    public var at: Timestamp
}

/// A whole thread as a viewer may see it (CONTRACT.md `thread show`).
public struct ThreadView: Sendable, Equatable {
    public var summary: ThreadSummary
    public var head: ObjectID
    public var conflicts: [ThreadManifest.FlagConflict]
    public var messages: [MessageView]
    /// Who did what, in order (messages a patient may not see are left out of a patient's view).
    public var events: [EventView]
    /// Messages and flag events that broke a rule (only faulty or hostile peers make them): kept
    /// for staff with the reason, never shown to portal users (always empty in their views).
    public var quarantined: [Quarantined]
}

extension Repository {
    /// Largest body `thread show` loads into memory.
    public static let viewBodyLimit = 256 << 20

    /// Threads, newest activity first. `viewer` (a portal user ID) limits the list to what that
    /// person may see: threads of their own patient in which they are a recipient or author.
    public func threads(patient: String? = nil, as viewer: String? = nil) throws -> [ThreadSummary] {
        let user = try viewer.map { try portalViewer($0) }
        var result: [ThreadSummary] = []
        for (_, head) in try store.refs.list(prefix: "threads/") {
            let thread = try load(ThreadManifest.self, head)
            if let patient, thread.patient != patient { continue }
            if let user, try !visible(thread, to: user) { continue }
            result.append(summary(thread))
        }
        return result.sorted { ($0.updated, $0.thread) > ($1.updated, $1.thread) }
    }

    /// One thread with its messages and bodies. A portal viewer gets exactly what they may see
    /// (never Bcc); a thread they may not see is "not found", so its existence does not leak.
    public func threadView(_ id: String, as viewer: String? = nil) throws -> ThreadView {
        let user = try viewer.map { try portalViewer($0) }
        let (head, thread) = try thread(id)
        if let user, try !visible(thread, to: user) { throw MessagingError.notFound("thread \(id) not found") }
        var envelopes: [String: StaffEnvelope] = [:]
        if user == nil {
            for (_, object) in try store.refs.list(prefix: "envelopes/\(id)/") {
                let envelope = try load(StaffEnvelope.self, object)
                envelopes[envelope.message] = envelope
            }
        }
        let quarantined = try MessagingRules.quarantined(thread) { try message($0) }
        let hidden = Set(quarantined.map(\.message))
        var messages: [MessageView] = []
        for reference in thread.messages where !hidden.contains(reference.id) {
            let message = try load(MessageManifest.self, reference.object)
            let body = try store.read(message.body.object, limit: Self.viewBodyLimit).bytes
            messages.append(MessageView(
                message: message.id, author: message.author.id, authorKind: message.author.kind, sent: message.sent,
                recipients: message.recipients, toStaff: message.toStaff, subject: message.subject,
                body: String(decoding: body, as: UTF8.self), bodyFormat: message.body.format,
                attachments: message.attachments, bcc: user == nil ? (envelopes[message.id]?.bccStaff ?? []) : nil))
        }
        var events: [EventView] = []
        for event in thread.events {
            let name = event.dot.map { "\($0.replica):\($0.counter)" } ?? event.message ?? ""
            if hidden.contains(event.message ?? name) { continue }
            events.append(EventView(event: name, kind: event.kind, by: event.by?.id, at: event.at))
        }
        return ThreadView(summary: summary(thread, hidden: hidden), head: head, conflicts: thread.conflicts,
                          messages: messages, events: events, quarantined: user == nil ? quarantined : [])
    }

    /// The message manifest an event names.
    func message(_ event: ThreadManifest.Event) throws -> MessageManifest {
        guard let object = event.object else {
            throw MessagingError(.invalidInput, "a message event has no object")
        }
        return try load(MessageManifest.self, object)

    }

    /// The attachment `name` of a message, checked to belong to the thread.
    public func attachment(thread threadID: String, message messageID: String, name: String) throws -> AttachmentReference {
        let (_, thread) = try thread(threadID)
        guard let reference = thread.messages.first(where: { $0.id == messageID }) else {
            throw MessagingError.notFound("message \(messageID) not found in thread \(threadID)")
        }
        let message = try load(MessageManifest.self, reference.object)
        guard let attachment = message.attachments.first(where: { $0.name == name }) else {
            throw MessagingError.notFound("message \(messageID) has no attachment with that name")
        }
        return attachment
    }

    /// Streams an attachment to a new file, published only once its content is verified.
    public func exportAttachment(_ attachment: AttachmentReference, to path: String) throws {
        try store.export(attachment.object, to: path)
    }

    func summary(_ thread: ThreadManifest, hidden: Set<String> = []) -> ThreadSummary {
        let messages = thread.messages.filter { !hidden.contains($0.id) }
        return ThreadSummary(thread: thread.id, patient: thread.patient, subject: thread.subject, status: thread.status,
                             allowReplies: thread.allowReplies, messages: messages.count,
                             version: thread.version.counters, updated: messages.last?.sent ?? thread.created)
    }

    func portalViewer(_ id: String) throws -> Directory.PortalUser {
        guard let user = try directory().portalUsers.first(where: { $0.id == id }) else {
            throw MessagingError.notFound("portal user \(id) not found in the directory")
        }
        guard user.active else {
            throw MessagingError.refused("portal user \(id) is inactive and may not view messages")
        }
        return user
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

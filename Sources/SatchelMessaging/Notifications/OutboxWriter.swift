import Foundation
import SatchelManifest
import SatchelStore

/// Queues notifications on a portal store when a message becomes readable there: one outbox
/// entry per recipient and channel, at that recipient's own address (Access.swift), at most
/// once per address per message, rendered from the directory's notification template. People
/// without access (inactive, or their patient without portal access) get nothing.
///
/// The text carries a link and nothing else: templates are checked at import
/// (NotificationTemplateRules.swift) and the link names the thread by its random ID. No
/// subject, body, name or specialty can reach a notification. A portal without a portal URL
/// refuses to queue (a link to nowhere is no notification).
struct OutboxWriter {
    let repository: Repository
    let access: Access
    let batch: ObjectBatch
    let now: Timestamp

    init(repository: Repository, directory: Directory, batch: ObjectBatch, now: Timestamp) {
        self.repository = repository
        self.access = Access(directory)
        self.batch = batch
        self.now = now
    }

    static let defaultTexts: [Directory.NotificationTemplate.Channel: String] = [
        .email: "You have a new secure message. Sign in to read it: {{link}}",
        .sms: "New secure message: {{link}}",
    ]

    /// What staff are told when a patient or representative replies (link only).
    static let staffTexts: [Directory.NotificationTemplate.Channel: String] = [
        .email: "A patient replied to a secure message. Sign in to read it: {{link}}",
        .sms: "A patient replied to a secure message: {{link}}",
    ]

    /// Entries for the portal recipients of a staff message.
    func queue(_ message: MessageManifest) throws -> [RefUpdate] {
        try queue(message, to: message.recipients) { channel in
            access.directory.settings.notificationTemplates.first { $0.channel == channel }?.text ?? Self.defaultTexts[channel]!
        }
    }

    /// Link-only entries telling `staff` that a portal user replied with `message`.
    func queueStaff(_ message: MessageManifest, to staff: [String]) throws -> [RefUpdate] {
        try queue(message, to: staff) { Self.staffTexts[$0]! }
    }

    private func queue(_ message: MessageManifest, to recipients: [String],
                       template: (Directory.NotificationTemplate.Channel) -> String) throws -> [RefUpdate] {
        var updates: [RefUpdate] = []
        var addresses = Set<String>()
        for recipient in recipients where access.mayBeNotified(recipient) {
            for (channel, address) in access.addresses(of: recipient) {
                // At most once per address and channel per message.
                guard addresses.insert(channel.rawValue + " " + address).inserted else { continue }
                let link = try repository.notificationLink(toThread: message.thread)
                let entry = OutboxEntry(
                    id: Identifier.notification(), thread: message.thread, message: message.id, recipient: recipient,
                    channel: channel == .email ? .email : .sms, address: address,
                    text: Self.render(template(channel), link: link),
                    status: .pending, created: now, updated: now)
                let object = try batch.put(.manifest, entry.encoded())
                updates.append(RefUpdate(try Repository.outboxRef(entry.id), from: nil, to: object))
            }
        }
        return updates
    }

    /// Replaces `{{link}}` and removes every other `{{…}}` placeholder.
    static func render(_ template: String, link: String) -> String {
        var out = ""
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                rest = rest[open.lowerBound...]
                break
            }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if name == "link" { out += link }
            rest = rest[close.upperBound...]
        }
        return out + rest
    }
}

extension Repository {
    /// The portal link for a thread (no PHI: the thread's random ID only).
    public func link(toThread thread: String) -> String {
        let base = config.portalURL ?? "https://portal.invalid"
        return (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/messages/" + thread
    }

    /// The link a notification carries; refused on a portal that has no portal URL (set one
    /// with `satchel init … --portal-url URL` or `satchel config portal-url URL`): nothing is
    /// queued with a link to nowhere.
    func notificationLink(toThread thread: String) throws -> String {
        guard let base = config.portalURL, !base.isEmpty else {
            throw MessagingError.refused("this portal store has no portal URL, so it cannot queue notifications; set it with: satchel config portal-url URL")
        }
        return (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/messages/" + thread
    }

    /// Queues notifications for messages that became readable here (a portal applying a
    /// bundle): objects go into `batch`, and the returned ref updates must be committed with
    /// the heads that made the messages readable. Without a directory nothing can be queued.
    /// Access is checked (Access.swift): a recipient without access now gets nothing; the
    /// thread is stored all the same and shown again when access returns.
    public func queueNotifications(for messages: [MessageManifest], in batch: ObjectBatch,
                                   now: Timestamp = .now()) throws -> [RefUpdate] {
        guard isPortal, !messages.isEmpty,
              let directory = try notificationDirectory(for: Set(messages.flatMap(\.recipients))) else { return [] }
        let writer = OutboxWriter(repository: self, directory: directory, batch: batch, now: now)
        return try messages.flatMap { try writer.queue($0) }
    }

    /// On a portal, link-only notifications to the staff who wrote to the patient in the
    /// thread, for a reply by one of the patient's portal users (called by ``reply``).
    func queueStaffNotifications(for reply: MessageManifest, in thread: ThreadManifest,
                                 batch: ObjectBatch, now: Timestamp) throws -> [RefUpdate] {
        guard isPortal, reply.author.kind == .portalUser else { return [] }
        var staff: [String] = []
        for reference in thread.messages where reference.id != reply.id {
            let message = try load(MessageManifest.self, reference.object)
            if message.author.kind == .staff, !message.recipients.isEmpty, !staff.contains(message.author.id) {
                staff.append(message.author.id)
            }
        }
        guard !staff.isEmpty, let directory = try notificationDirectory(for: Set(staff)) else { return [] }
        return try OutboxWriter(repository: self, directory: directory, batch: batch, now: now).queueStaff(reply, to: staff)
    }

    /// Notifications queued on this store, oldest first.
    public func outbox() throws -> [OutboxEntry] {
        try store.refs.list(prefix: "outbox/").map { try load(OutboxEntry.self, $0.id) }
            .sorted { ($0.created, $0.id) < ($1.created, $1.id) }
    }

    /// Records a delivery attempt's outcome (the delivery adapter calls this).
    public func markNotification(_ id: String, status: OutboxEntry.Status, now: Timestamp = .now()) throws {
        let ref = try Self.ref({ try Self.outboxRef(id) }, what: "notification \(id)")
        guard let head = try head(OutboxEntry.self, ref) else {
            throw MessagingError.notFound("notification \(id) not found")
        }
        var entry = head.value
        entry.status = status
        entry.updated = now
        let object = try store.put(.manifest, entry.encoded())
        try store.refs.update(ref, from: head.id, to: object)
    }
}

import Foundation
import SatchelManifest
import SatchelStore

/// Queues notifications on a portal store when a message becomes readable there: one outbox
/// entry per recipient and channel (email and/or SMS, from the patient's contact data),
/// rendered from the directory's notification template.
///
/// The text carries a link and nothing else: the template may only use `{{link}}`; any other
/// placeholder is removed, and the link names the thread by its random ID. No subject, body,
/// name or specialty can reach a notification.
struct OutboxWriter {
    let repository: Repository
    let directory: Directory
    let batch: ObjectBatch
    let now: Timestamp
    /// Lookups by ID (a bulk send on a portal queues entries for thousands of recipients).
    private let users: [String: Directory.PortalUser]
    private let patients: [String: Directory.Patient]

    init(repository: Repository, directory: Directory, batch: ObjectBatch, now: Timestamp) {
        self.repository = repository
        self.directory = directory
        self.batch = batch
        self.now = now
        users = Dictionary(directory.portalUsers.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        patients = Dictionary(directory.patients.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    static let defaultTexts: [Directory.NotificationTemplate.Channel: String] = [
        .email: "You have a new secure message. Sign in to read it: {{link}}",
        .sms: "New secure message: {{link}}",
    ]

    func queue(_ message: MessageManifest) throws -> [RefUpdate] {
        var updates: [RefUpdate] = []
        for recipient in message.recipients {
            guard let user = users[recipient], let patient = patients[user.patient] else { continue }
            let channels: [(Directory.NotificationTemplate.Channel, String?)] = [(.email, patient.email), (.sms, patient.cell)]
            for (channel, address) in channels {
                guard let address, !address.isEmpty else { continue }
                let template = directory.settings.notificationTemplates.first { $0.channel == channel }?.text
                    ?? Self.defaultTexts[channel]!
                let entry = OutboxEntry(
                    id: Identifier.notification(), thread: message.thread, message: message.id, recipient: user.id,
                    channel: channel == .email ? .email : .sms, address: address,
                    text: Self.render(template, link: repository.link(toThread: message.thread)),
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

    /// Queues notifications for messages that became readable here (a portal applying a
    /// bundle): objects go into `batch`, and the returned ref updates must be committed with
    /// the heads that made the messages readable. Without a directory nothing can be queued.
    public func queueNotifications(for messages: [MessageManifest], in batch: ObjectBatch,
                                   now: Timestamp = .now()) throws -> [RefUpdate] {
        guard isPortal, !messages.isEmpty,
              let directory = try notificationDirectory(for: Set(messages.flatMap(\.recipients))) else { return [] }
        let writer = OutboxWriter(repository: self, directory: directory, batch: batch, now: now)
        return try messages.flatMap { try writer.queue($0) }
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

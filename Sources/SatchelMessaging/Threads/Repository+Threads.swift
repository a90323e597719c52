import SatchelManifest
import SatchelStore

/// Who is acting: a staff member or a portal user (patient or authorized representative).
public enum Actor: Sendable, Equatable {
    case staff(Directory.Staff)
    case portalUser(Directory.PortalUser)

    /// The person's staff or portal user ID.
    public var id: String {
        switch self {
        case .staff(let staff): staff.id
        case .portalUser(let user): user.id
        }
    }
}

extension Repository {
    /// Finds a person by ID: staff first, then portal users.
    public func actor(_ id: String, in directory: Directory) throws -> Actor {
        if let staff = directory.staff.first(where: { $0.id == id }) { return .staff(staff) }
        if let user = directory.portalUsers.first(where: { $0.id == id }) { return .portalUser(user) }
        throw MessagingError.notFound("\(id) is neither a staff member nor a portal user in the directory")
    }

    /// The current head of a thread.
    public func thread(_ id: String) throws -> (head: ObjectID, thread: ThreadManifest) {
        let ref = try Self.ref({ try Self.threadRef(id) }, what: "thread \(id)")
        guard let head = try head(ThreadManifest.self, ref) else { throw MessagingError.notFound("thread \(id) not found") }
        return (head.id, head.value)
    }

    /// Replies in a thread. Staff may always reply (with attachments). A patient or
    /// representative may reply only to their own patient's thread and one they received (or
    /// wrote in), only on the portal, only while it is open and replies are allowed, and never
    /// with attachments.
    @discardableResult
    public func reply(thread threadID: String, as actorID: String, body: BodyInput, rich: Bool = false,
                      attachments: [AttachmentInput] = [], now: Timestamp = .now()) throws -> (thread: String, message: String) {
        let directory = try directory()
        let actor = try actor(actorID, in: directory)
        let (head, current) = try thread(threadID)
        var thread = current
        let recipients: [String]
        var toStaff: [String] = []
        switch actor {
        case .staff:
            // To the patient's portal users the thread has been addressed to, still active.
            let previous = try thread.messages.reversed().lazy
                .map { try self.load(MessageManifest.self, $0.object) }
                .first { $0.author.kind == .staff }
            let rules = try access()
            let users = Set(directory.portalUsers.filter { $0.patient == thread.patient && rules.denial(of: $0) == nil }.map(\.id))
            recipients = (previous?.recipients ?? []).filter(users.contains)
        case .portalUser(let user):
            guard isPortal else {
                throw MessagingError.refused("portal user \(user.id) replies on the portal store, not on a workstation")
            }
            // Access (active user, patient with portal access) is checked every time.
            _ = try access().viewer(user.id)
            guard user.patient == thread.patient else {
                throw MessagingError.refused("portal user \(user.id) may not reply to thread \(threadID): it belongs to another patient")
            }
            // Consistent with the views: a thread this person cannot see is not one they can answer.
            guard try visible(thread, to: user) else {
                throw MessagingError.refused("portal user \(user.id) may not reply to thread \(threadID): they are not among its recipients")
            }
            switch MessagingRules.mayPortalUserReply(thread, user: user.id, attachments: attachments.count) {
            case nil: break
            case .patientAttachment?:
                throw MessagingError.refused("portal user \(user.id) may not attach files; patients cannot send attachments")
            case .writtenWhileClosed?:
                throw MessagingError.refused("portal user \(user.id) may not reply: thread \(threadID) is closed")
            case let violation?:
                throw MessagingError.refused("portal user \(user.id) may not reply: replies are not allowed in thread \(threadID) (\(violation))")
            }
            recipients = []
            if let first = thread.messages.first, let opener = try? load(MessageManifest.self, first.object) {
                toStaff = [opener.author.id]
            }
        }
        let batch = try store.batch()
        var published = false
        defer { if !published { batch.abandon() } }
        let content = ContentWriter(batch: batch, tempDirectory: store.root + "/tmp")
        let bodyReference = try content.body(body, rich: rich)
        var stored: [AttachmentReference] = []
        for input in attachments { stored.append(try content.attachment(input, taken: Set(stored.map(\.name)))) }
        let messageID = Identifier.message()
        let authorKind: MessageManifest.Author.Kind = if case .staff = actor { .staff } else { .portalUser }
        let message = MessageManifest(
            id: messageID, thread: threadID, author: .init(id: actor.id, kind: authorKind), sent: now,
            recipients: recipients, toStaff: toStaff, subject: thread.subject, body: bodyReference, attachments: stored,
            context: thread.version)
        let messageObject = try batch.put(.manifest, message.encoded())
        thread.append(.message(messageID, object: messageObject, dot: thread.nextDot(on: replica).dot, sent: now,
                               by: message.author))
        let threadObject = try batch.put(.manifest, thread.encoded())
        var updates = [RefUpdate(try Self.threadRef(threadID), from: head, to: threadObject)]
        if isPortal, authorKind == .staff {
            updates += try OutboxWriter(repository: self, directory: directory, batch: batch, now: now).queue(message)
        }
        updates += try queueStaffNotifications(for: message, in: thread, batch: batch, now: now)
        try commitThread(batch, updates, threadID)
        published = true
        return (threadID, messageID)
    }

    /// Closes a thread (patients can no longer reply). Staff only. A thread already closed here
    /// is left as it is.
    public func close(thread threadID: String, as staffID: String, now: Timestamp = .now()) throws {
        try flag(.close, thread: threadID, as: staffID, now: now)
    }

    /// Reopens a closed thread. Staff only.
    public func reopen(thread threadID: String, as staffID: String, now: Timestamp = .now()) throws {
        try flag(.reopen, thread: threadID, as: staffID, now: now)
    }

    /// Turns patient replies on or off in a thread. Staff only.
    public func setReplies(_ allowed: Bool, thread threadID: String, as staffID: String, now: Timestamp = .now()) throws {
        try flag(allowed ? .repliesOn : .repliesOff, thread: threadID, as: staffID, now: now)
    }

    /// Records a flag event (an immutable ``ThreadEvent`` object plus its entry in the head), unless
    /// the flag already has that value here. The event remembers who, when, and the history seen.
    private func flag(_ kind: ThreadManifest.Event.Kind, thread threadID: String, as actorID: String,
                      now: Timestamp) throws {
        let directory = try directory()
        guard case .staff(let staff) = try actor(actorID, in: directory) else {
            let verb = switch kind {
            case .close: "close a thread"
            case .reopen: "reopen a thread"
            default: "turn replies on or off"
            }
            throw MessagingError.refused("only staff may \(verb); \(actorID) is a portal user")
        }
        let (head, current) = try thread(threadID)
        var thread = current
        let unchanged = switch kind {
        case .close: thread.status == .closed
        case .reopen: thread.status == .open
        case .repliesOn: thread.allowReplies
        case .repliesOff: !thread.allowReplies
        default: false
        }
        guard !unchanged else { return }
        let (dot, context) = thread.nextDot(on: replica)
        let event = ThreadEvent(thread: threadID, kind: kind, dot: dot, at: now,
                                by: .init(id: staff.id, kind: .staff), context: context)
        let batch = try store.batch()
        var published = false
        defer { if !published { batch.abandon() } }
        let eventObject = try batch.put(.manifest, event.encoded())
        thread.append(.init(event, object: eventObject))
        let object = try batch.put(.manifest, thread.encoded())
        try commitThread(batch, [RefUpdate(try Self.threadRef(threadID), from: head, to: object)], threadID)
        published = true
    }

    /// Publishes the batch and moves the thread's refs together (shared barriers).
    private func commitThread(_ batch: ObjectBatch, _ updates: [RefUpdate], _ threadID: String) throws {
        do {
            try batch.commit(moving: updates)
        } catch let error as StoreError where error.code == .conflict {
            throw MessagingError(.conflict, "thread \(threadID) changed while this command ran; nothing was changed, try again")
        }
    }
}

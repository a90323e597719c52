import Foundation
import SatchelManifest
import SatchelStore

extension Repository {
    /// Sends a new message: one thread per patient (bulk recipients never see each other),
    /// body and attachments stored once and referenced by every thread. All objects land in
    /// one pack and all thread heads move in one ref transaction: a refused or failed send
    /// changes nothing.
    ///
    /// `progress` hears about content streaming in and threads being written (bulk sends).
    public func send(_ request: ComposeRequest, now: Timestamp = .now(), progress: ProgressHandler? = nil) throws -> SendResult {
        try send(request, now: now, consumingDraft: nil, progress: progress)
    }

    /// `consumingDraft`: the draft being sent; its ref moves to the tombstone in the same transaction.
    func send(_ request: ComposeRequest, now: Timestamp,
              consumingDraft: (ref: RefName, head: ObjectID, tombstone: DraftManifest)?,
              progress: ProgressHandler? = nil) throws -> SendResult {
        if isPortal && !request.bccLists.isEmpty {
            throw MessagingError.refused("Staff Bcc is staff-only and cannot be used on a portal store; compose on a workstation")
        }
        let resolver = try recipientResolver()
        let directory = resolver.directory
        let author = try resolver.author(request.author)
        for id in request.toStaff { _ = try resolver.staffMember(id) }
        let (subject, body) = try Self.subjectAndBody(request, directory: directory)
        guard !request.to.isEmpty || request.patient != nil || request.bulk != nil else {
            throw MessagingError.usage("a message needs recipients: --to PORTAL_USER, --patient PATIENT or --bulk")
        }
        let resolution = try resolver.resolve(to: request.to, patient: request.patient, bulk: request.bulk, author: author)
        guard !resolution.groups.isEmpty else {
            throw MessagingError.refused("no eligible recipients (\(resolution.skipped.count) portal users skipped)")
        }
        let bcc = try resolver.bccStaff(lists: request.bccLists)
        let allowReplies = request.allowReplies ?? directory.settings.defaultAllowReplies

        let batch = try store.batch()
        var published = false
        defer { if !published { batch.abandon() } }
        let content = ContentWriter(batch: batch, tempDirectory: store.root + "/tmp", progress: progress,
                                    progressTotal: progress == nil ? nil : ContentWriter.fileBytes(body: body, attachments: request.attachments))
        let bodyReference = try content.body(body, rich: request.rich)
        var attachments: [AttachmentReference] = []
        for input in request.attachments {
            attachments.append(try content.attachment(input, taken: Set(attachments.map(\.name))))
        }

        var updates: [RefUpdate] = []
        var sent: [SentThread] = []
        let outbox = isPortal ? OutboxWriter(repository: self, directory: directory, batch: batch, now: now) : nil
        for group in resolution.groups {
            let threadID = Identifier.thread(), messageID = Identifier.message()
            let message = MessageManifest(
                id: messageID, thread: threadID, author: .init(id: author.id, kind: .staff), sent: now,
                recipients: group.recipients, toStaff: request.toStaff, subject: subject, body: bodyReference,
                attachments: attachments)
            let messageObject = try batch.put(.manifest, message.encoded())
            let thread = ThreadManifest(
                id: threadID, patient: group.patient, subject: subject, created: now, allowReplies: allowReplies,
                firstMessage: messageID, object: messageObject, replica: replica, by: message.author)
            let threadObject = try batch.put(.manifest, thread.encoded())
            updates.append(RefUpdate(try Self.threadRef(threadID), from: nil, to: threadObject))
            if !request.bccLists.isEmpty {
                let envelope = StaffEnvelope(message: messageID, thread: threadID, bccStaff: bcc, bccLists: request.bccLists)
                let envelopeObject = try batch.put(.manifest, envelope.encoded())
                updates.append(RefUpdate(try Self.envelopeRef(thread: threadID, message: messageID), from: nil, to: envelopeObject))
            }
            if let outbox { updates += try outbox.queue(message) }
            sent.append(SentThread(thread: threadID, message: messageID, patient: group.patient, recipients: group.recipients))
            if let progress, sent.count % 64 == 0 || sent.count == resolution.groups.count {
                progress(ProgressEvent(phase: "writing threads", completed: UInt64(sent.count),
                                       total: UInt64(resolution.groups.count), unit: .items))
            }
        }
        if let draft = consumingDraft {
            let tombstone = try batch.put(.manifest, draft.tombstone.encoded())
            updates.append(RefUpdate(draft.ref, from: draft.head, to: tombstone))
        }
        do {
            try batch.commit(moving: updates)
        } catch let error as StoreError where error.code == .conflict {
            throw MessagingError(.conflict, "the draft changed while it was being sent; nothing was sent")
        }
        published = true
        return SendResult(threads: sent, skipped: resolution.skipped)
    }

    /// Subject and body from the request, filled in from its template; both required.
    static func subjectAndBody(_ request: ComposeRequest, directory: Directory) throws -> (String, BodyInput) {
        var subject = request.subject, body = request.body
        if let templateID = request.template {
            guard let template = directory.settings.messageTemplates.first(where: { $0.id == templateID }) else {
                throw MessagingError.notFound("message template \(templateID) not found in the directory")
            }
            subject = subject ?? template.subject
            body = body ?? .text(template.body)
        }
        guard let subject, !subject.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw MessagingError.usage("a subject is required (--subject, or a --template that has one)")
        }
        guard let body else {
            throw MessagingError.usage("a body is required (--body, --body-file, or a --template)")
        }
        return (subject, body)
    }
}

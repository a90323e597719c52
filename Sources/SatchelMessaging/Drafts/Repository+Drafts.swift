import Foundation
import SatchelManifest
import SatchelStore

/// A draft in a list (docs/CLI.md `draft list`).
public struct DraftSummary: Sendable, Equatable {
    /// The draft ID.
    public var draft: String
    /// Staff ID of the author.
    public var author: String
    /// The subject; nil when not set yet.
    public var subject: String?
    /// When the current version was last changed.
    public var updated: Timestamp
}

/// Changes to a draft: every field that is set replaces the draft's; attachments are added.
public struct DraftUpdate: Sendable, Equatable {
    /// Replaces the portal user IDs in To.
    public var to: [String]?
    /// Replaces the patient of "Message Patient".
    public var patient: String?
    /// Replaces the other staff in To.
    public var toStaff: [String]?
    /// Replaces the bulk recipient option.
    public var bulk: DraftManifest.Bulk?
    /// Replaces the distribution list IDs of Staff Bcc.
    public var bccLists: [String]?
    /// Replaces the subject.
    public var subject: String?
    /// Replaces the body.
    public var body: BodyInput?
    /// Whether the body is rich text; nil keeps the current body's format.
    public var rich: Bool?
    /// Attachments added to the draft's own.
    public var addAttachments: [AttachmentInput] = []
    /// Replaces whether patients may reply.
    public var allowReplies: Bool?
    /// Replaces the message template ID.
    public var template: String?

    /// An update that changes nothing until its fields are set.
    public init() {}
}

extension Repository {
    /// Drafts are staff-only: they live on workstations, never on a portal.
    func requireWorkstationForDrafts() throws {
        if isPortal {
            throw MessagingError.refused("drafts are staff-only and cannot be kept on a portal store; use a workstation")
        }
    }

    /// Saves a new draft. Drafts may be incomplete (no subject, body or recipients yet); people,
    /// lists and templates they name must exist. Body and attachments are stored now.
    public func saveDraft(_ request: ComposeRequest, now: Timestamp = .now()) throws -> String {
        try requireWorkstationForDrafts()
        let directory = try directory()
        try checkNames(author: request.author, to: request.to, patient: request.patient, toStaff: request.toStaff,
                       bccLists: request.bccLists, template: request.template, in: directory)
        let id = Identifier.draft()
        var version = VersionVector()
        version[replica] = 1
        var draft = DraftManifest(id: id, author: request.author, updated: now, version: version,
                                  patient: request.patient, bulk: request.bulk, template: request.template,
                                  allowReplies: request.allowReplies, recipients: request.to, toStaff: request.toStaff,
                                  bccLists: request.bccLists, subject: request.subject)
        try storeDraft(&draft, body: request.body, rich: request.rich, adding: request.attachments, previous: nil)
        return id
    }

    /// Live drafts (a sent or discarded draft is a tombstone and is not listed), most recently
    /// updated first. A draft with concurrent versions is listed once, as its current version.
    /// A draft belongs to its author: `staffID` sees their own drafts only, unless they hold
    /// the `viewAllDrafts` permission.
    public func drafts(as staffID: String) throws -> [DraftSummary] {
        if isPortal { return [] }
        let seesAll = try draftReader(staffID).permissions.contains(.viewAllDrafts)
        return try store.refs.list(prefix: "drafts/").compactMap { ref in
            guard let draft = try draftHead(at: ref.id).current?.draft else { return nil }
            guard seesAll || draft.author == staffID else { return nil }
            return DraftSummary(draft: draft.id, author: draft.author, subject: draft.subject, updated: draft.updated)
        }.sorted { ($0.updated, $0.draft) > ($1.updated, $1.draft) }
    }

    /// How many live drafts the store holds, of every author (`satchel stats`; no content).
    public func draftCount() throws -> Int {
        if isPortal { return 0 }
        return try store.refs.list(prefix: "drafts/").filter { try draftHead(at: $0.id).current?.draft != nil }.count
    }

    /// A draft's head read as its versions (``DraftHead``); nil when the ref does not exist.
    /// Tombstones are included: this is what sync and the edit commands build on.
    public func draftHead(_ id: String) throws -> DraftHead? {
        let ref = try Self.ref({ try Self.draftRef(id) }, what: "draft \(id)")
        guard let object = try store.refs.read(ref) else { return nil }
        return try DraftHead.read(object, id: id) { try self.loadAny($0) }
    }

    /// The versions of the draft head stored at `object`.
    public func draftHead(at object: ObjectID) throws -> DraftHead {
        try DraftHead.read(object, id: nil) { try self.loadAny($0) }
    }

    /// A live draft's versions and its current one. `as`: the staff member asking; a draft
    /// belongs to its author, who alone may change, send or discard it. `viewing`: only to
    /// read it, which staff with `viewAllDrafts` may do for anyone's draft. A draft that was
    /// sent or discarded everywhere is "not found".
    public func draftVersions(_ id: String, as staffID: String, viewing: Bool = false) throws -> (head: DraftHead, current: DraftManifest) {
        try requireWorkstationForDrafts()
        let reader = try draftReader(staffID, draft: id)
        guard let head = try draftHead(id), let current = head.current?.draft else {
            throw MessagingError.notFound("draft \(id) not found")
        }
        if staffID != current.author, !(viewing && reader.permissions.contains(.viewAllDrafts)) {
            throw MessagingError.refused("draft \(id) belongs to staff \(current.author), not \(staffID)")
        }
        return (head, current)
    }

    /// A draft's head object and its current version (see ``draftVersions(_:as:viewing:)``).
    public func draft(_ id: String, as staffID: String) throws -> (head: ObjectID, draft: DraftManifest) {
        let (head, current) = try draftVersions(id, as: staffID, viewing: true)
        return (head.object, current)
    }

    /// A draft's body for display: its text, or nil when it is larger than `inlineLimit` (the
    /// view shows a marker with the size; ``exportDraftBody(_:as:to:)`` streams it), and its size.
    /// Nil when the draft has no body yet.
    public func draftBodyText(_ draft: DraftManifest, inlineLimit: Int = inlineBodyLimit) throws -> (text: String?, size: UInt64)? {
        guard let body = draft.body else { return nil }
        let size = try store.info(body.object).length
        guard size <= UInt64(min(inlineLimit, Self.viewBodyLimit)) else { return (nil, size) }
        return (String(decoding: try store.read(body.object, limit: Self.viewBodyLimit).bytes, as: UTF8.self), size)
    }

    /// Streams a draft's body (any size) to a new file, for its author (or `viewAllDrafts`).
    public func exportDraftBody(_ id: String, as staffID: String, to path: String) throws {
        let (_, draft) = try draftVersions(id, as: staffID, viewing: true)
        guard let body = draft.body else { throw MessagingError.notFound("draft \(id) has no body yet") }
        try store.export(body.object, to: path)
    }

    /// The staff member asking about drafts (portal users have none).
    private func draftReader(_ staffID: String, draft: String? = nil) throws -> Directory.Staff {
        let directory = try directory()
        if let member = directory.staff.first(where: { $0.id == staffID }) { return member }
        if directory.portalUsers.contains(where: { $0.id == staffID }) {
            throw MessagingError.refused((draft.map { "draft \($0): " } ?? "") + "drafts are staff-only; \(staffID) is a portal user")
        }
        throw MessagingError.notFound("staff \(staffID) not found in the directory")
    }

    /// Edits a draft. With concurrent versions, the edit starts from the current one (see
    /// ``DraftHead/current``), and its version vector (the join of all versions plus one for this
    /// replica) dominates them all: the edit resolves the siblings.
    public func updateDraft(_ id: String, as staffID: String, _ update: DraftUpdate, now: Timestamp = .now()) throws {
        let (head, current) = try draftVersions(id, as: staffID)
        var draft = current
        if let to = update.to { draft.recipients = to }
        if let patient = update.patient { draft.patient = patient }
        if let toStaff = update.toStaff { draft.toStaff = toStaff }
        if let bulk = update.bulk { draft.bulk = bulk }
        if let lists = update.bccLists { draft.bccLists = lists }
        if let subject = update.subject { draft.subject = subject }
        if let allow = update.allowReplies { draft.allowReplies = allow }
        if let template = update.template { draft.template = template }
        try checkNames(author: draft.author, to: draft.recipients, patient: draft.patient, toStaff: draft.toStaff,
                       bccLists: draft.bccLists, template: draft.template, in: try directory())
        draft.updated = now
        draft.version = head.nextVersion(for: replica)
        let rich = update.rich ?? (draft.body?.format == .rich)
        var body = update.body
        // Turning a stored plain body into rich text must pass it through the sanitizer like any
        // new rich text: relabelling the blob would publish unsanitized markup (scripts, handlers).
        var plainCopy: String?
        defer { if let plainCopy { try? LocalFiles.remove(plainCopy) } }
        if body == nil, let existing = draft.body, update.rich != nil, existing.format != (rich ? .rich : .plain) {
            if rich {
                let temp = store.root + "/tmp/draft-body-" + Identifier.make("") + ".tmp"
                plainCopy = temp
                try store.export(existing.object, to: temp, mode: .ephemeral)
                body = .file(path: temp)
            } else {
                body = .stored(BodyReference(object: existing.object, format: .plain, length: existing.length))
            }
        }
        try storeDraft(&draft, body: body, rich: rich, adding: update.addAttachments, previous: head.object)
    }

    /// Removes an attachment (by name) from a draft before it is sent.
    /// Like an update, this resolves concurrent versions.
    public func detach(draft id: String, name: String, as staffID: String, now: Timestamp = .now()) throws {
        let (head, current) = try draftVersions(id, as: staffID)
        var draft = current
        guard let index = draft.attachments.firstIndex(where: { $0.name == name }) else {
            throw MessagingError.notFound("draft \(id) has no attachment with that name")
        }
        draft.attachments.remove(at: index)
        draft.updated = now
        draft.version = head.nextVersion(for: replica)
        try storeDraft(&draft, body: nil, rich: false, adding: [], previous: head.object)
    }

    /// Sends a draft (its current version) with all compose rules; in the same transaction the
    /// draft is replaced by a `sent` tombstone that dominates every version it had.
    public func sendDraft(_ id: String, as staffID: String, now: Timestamp = .now(),
                          progress: ProgressHandler? = nil) throws -> SendResult {
        let (head, draft) = try draftVersions(id, as: staffID)
        var request = ComposeRequest(author: draft.author)
        request.to = draft.recipients
        request.patient = draft.patient
        request.toStaff = draft.toStaff
        request.bulk = draft.bulk
        request.bccLists = draft.bccLists
        request.subject = draft.subject
        request.body = draft.body.map { .stored($0) }
        request.rich = draft.body?.format == .rich
        request.attachments = draft.attachments.map { .stored($0) }
        request.allowReplies = draft.allowReplies
        request.template = draft.template
        let tombstone = DraftManifest.tombstone(id: draft.id, author: draft.author, state: .sent, updated: now,
                                                version: head.nextVersion(for: replica))
        return try send(request, now: now, consumingDraft: (try Self.draftRef(id), head.object, tombstone), progress: progress)
    }

    /// Discards a draft: it is replaced by a `discarded` tombstone that dominates every version
    /// it had, so sync removes it elsewhere too (unless edited there concurrently).
    public func discardDraft(_ id: String, as staffID: String, now: Timestamp = .now()) throws {
        let (head, draft) = try draftVersions(id, as: staffID)
        var tombstone = DraftManifest.tombstone(id: draft.id, author: draft.author, state: .discarded, updated: now,
                                                version: head.nextVersion(for: replica))
        try storeDraft(&tombstone, body: nil, rich: false, adding: [], previous: head.object)
    }

    /// Stores new content and the draft manifest, then moves the draft ref (CAS on `previous`).
    private func storeDraft(_ draft: inout DraftManifest, body: BodyInput?, rich: Bool,
                            adding attachments: [AttachmentInput], previous: ObjectID?) throws {
        let batch = try store.batch()
        var published = false
        defer { if !published { batch.abandon() } }
        let content = ContentWriter(batch: batch, tempDirectory: store.root + "/tmp")
        if let body { draft.body = try content.body(body, rich: rich) }
        for input in attachments {
            draft.attachments.append(try content.attachment(input, taken: Set(draft.attachments.map(\.name))))
        }
        let object = try batch.put(.manifest, draft.encoded())
        try batch.commit()
        published = true
        do {
            try store.refs.update(try Self.draftRef(draft.id), from: previous, to: object)
        } catch let error as StoreError where error.code == .conflict {
            throw MessagingError(.conflict, "draft \(draft.id) changed while this command ran; nothing was changed, try again")
        }
    }

    private func checkNames(author: String, to: [String], patient: String?, toStaff: [String], bccLists: [String],
                            template: String?, in directory: Directory) throws {
        let resolver = RecipientResolver(directory)
        _ = try resolver.author(author)
        for id in to { _ = try resolver.portalUser(id) }
        if let patient { _ = try resolver.patient(patient) }
        for id in toStaff { _ = try resolver.staffMember(id) }
        _ = try resolver.bccStaff(lists: bccLists)
        if let template, !directory.settings.messageTemplates.contains(where: { $0.id == template }) {
            throw MessagingError.notFound("message template \(template) not found in the directory")
        }
    }
}

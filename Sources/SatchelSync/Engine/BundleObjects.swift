import SatchelManifest
import SatchelMessaging
import SatchelStore

/// The objects a bundle being applied can use: its own (staged, hashes verified, manifests
/// decoded) and, for what it leaves out, the receiving store's. Checks what checksums cannot:
/// that every object a head reaches is present, of the right kind and size, and what the
/// referring manifest says it is.
///
/// Objects already in the store are trusted to be complete (every object they reach is in the
/// store too): the store only ever publishes complete heads, and apply keeps it that way by
/// refusing a bundle whose heads reach anything missing.
struct BundleObjects {
    let repository: Repository
    let inBundle: [ObjectID: (kind: ObjectKind, length: UInt64)]
    let threads: [ObjectID: ThreadManifest]
    let messages: [ObjectID: MessageManifest]
    let events: [ObjectID: ThreadEvent]
    let staffOnly: [ObjectID: AnyManifest]
    /// The bytes of the staff-only manifests in the bundle, as received.
    let staffOnlyBytes: [ObjectID: [UInt8]]

    var store: ObjectStore { repository.store }

    func available(_ id: ObjectID) -> Bool { inBundle[id] != nil || store.contains(id) }

    private func missing(_ id: ObjectID, _ what: String) -> SyncError {
        SyncError(.missingPrerequisite, "bundle needs \(what) \(id.short), which is neither in the bundle nor in this store; ask the sender for a full bundle (satchel bundle create --full)")
    }

    /// The thread manifest of a head (refusing an object of another kind).
    func thread(_ id: ObjectID, ref: String) throws -> ThreadManifest {
        if let thread = threads[id] { return thread }
        guard inBundle[id] == nil else { throw SyncError(.badInput, "bundle head \(ref) names object \(id.short), which is not a thread manifest") }
        guard store.contains(id) else { throw missing(id, "thread object") }
        guard case .thread(let thread) = try loadAny(id) else {
            throw SyncError(.badInput, "bundle head \(ref) names object \(id.short), which is not a thread manifest")
        }
        return thread
    }

    /// The message manifest of a message event, checked to be that message of that thread.
    func message(of event: ThreadManifest.Event, in thread: ThreadManifest) throws -> MessageManifest {
        guard let id = event.object else {
            throw SyncError(.badInput, "thread \(thread.id) lists a message without its object")
        }
        let message = try named(id, "message", in: thread, bundled: messages[id]) {
            if case .message(let m) = $0 { m } else { nil }
        }
        guard message.id == event.message, message.thread == thread.id, message.sent == event.at,
              event.by == nil || event.by == message.author else {
            throw SyncError(.badInput, "thread \(thread.id) lists message \(event.message ?? "?") with details that its manifest contradicts")
        }
        return message
    }

    /// Checks a flag event entry against its ``ThreadEvent`` object.
    func checkFlagEvent(_ event: ThreadManifest.Event, in thread: ThreadManifest) throws {
        guard let id = event.object else {
            guard event.legacy else { throw SyncError(.badInput, "thread \(thread.id) lists an event without its object") }
            return
        }
        let object = try named(id, "event", in: thread, bundled: events[id]) {
            if case .event(let e) = $0 { e } else { nil }
        }
        guard ThreadManifest.Event(object, object: id) == event, object.thread == thread.id else {
            throw SyncError(.badInput, "thread \(thread.id) lists event \(id.short) with details that its object contradicts")
        }
    }

    /// An envelope head must name an envelope of the same thread and message.
    func checkEnvelope(_ id: ObjectID, ref: String) throws {
        let manifest = try staffOnlyManifest(id)
        guard case .envelope(let envelope) = manifest, ref == "envelopes/\(envelope.thread)/\(envelope.message)" else {
            throw SyncError(.badInput, "bundle head \(ref) names object \(id.short), which is not that message's envelope")
        }
    }

    /// A staff-only manifest (draft, draft set, envelope) from the bundle or the store.
    func staffOnlyManifest(_ id: ObjectID) throws -> AnyManifest {
        if let manifest = staffOnly[id] { return manifest }
        guard inBundle[id] == nil else { throw SyncError(.badInput, "object \(id.short) is not a staff-only manifest") }
        guard store.contains(id) else { throw missing(id, "object") }
        return try loadAny(id)
    }

    /// Walks everything `root` reaches, checking kinds and sizes and that nothing is missing.
    /// Objects in the bundle are marked `reached`. An object already in the store ends the walk
    /// only if `trusted` vouches for it (it is reachable from the local ref, which only ever
    /// names complete state); any other stored object — left by an apply that failed half-way,
    /// say — is walked too, so a missing child is found (and sent again by the peer) instead of
    /// being trusted.
    func closure(of root: ObjectID, trusted: Set<ObjectID>, reached: inout Set<ObjectID>) throws {
        var pending = [(root, Expect.any)]
        var visited = Set<ObjectID>()
        while let (id, expect) = pending.popLast() {
            guard visited.insert(id).inserted else { continue }
            guard let entry = inBundle[id] else {
                guard store.contains(id) else { throw missing(id, "object") }
                if trusted.contains(id) { continue }
                try walkStored(id, expect, into: &pending)
                continue
            }
            reached.insert(id)
            switch expect {
            case .blob(let length):
                guard entry.kind == .blob, entry.length == length else {
                    throw SyncError(.badInput, "bundle object \(id.short) is not the \(length)-byte content its message names")
                }
            case .message:
                guard let message = messages[id] else { throw SyncError(.badInput, "bundle object \(id.short) is named as a message but is not one") }
                Self.children(of: message, into: &pending)
            case .event:
                guard events[id] != nil else { throw SyncError(.badInput, "bundle object \(id.short) is named as an event but is not one") }
            case .any:
                if let thread = threads[id] {
                    Self.children(of: thread, into: &pending)
                } else if staffOnly[id] != nil {
                    // Drafts and draft sets name drafts and content; envelopes name nothing.
                    guard let bytes = staffOnlyBytes[id] else { continue }
                    for next in References.scan(bytes) { pending.append((next, .any)) }
                } else if entry.kind == .manifest {
                    throw SyncError(.badInput, "bundle object \(id.short) is not what the ref or manifest naming it expects")
                }
            }
        }
    }

    /// The children of an object this store holds but no local ref vouches for.
    private func walkStored(_ id: ObjectID, _ expect: Expect, into pending: inout [(ObjectID, Expect)]) throws {
        switch expect {
        case .blob: return
        case .event: return
        case .message:
            guard case .message(let message) = try loadAny(id) else {
                throw SyncError(.badInput, "object \(id.short) is named as a message but is not one")
            }
            Self.children(of: message, into: &pending)
        case .any:
            guard try store.info(id).kind == .manifest else { return }
            let bytes = try store.read(id).bytes
            if case .thread(let thread) = try AnyManifest.decode(bytes, trust: .trusted) {
                Self.children(of: thread, into: &pending)
            } else {
                for next in References.scan(bytes) { pending.append((next, .any)) }
            }
        }
    }

    private static func children(of thread: ThreadManifest, into pending: inout [(ObjectID, Expect)]) {
        for event in thread.events {
            guard let object = event.object else { continue }
            pending.append((object, event.kind == .message ? .message : .event))
        }
    }

    private static func children(of message: MessageManifest, into pending: inout [(ObjectID, Expect)]) {
        pending.append((message.body.object, .blob(message.body.length)))
        for attachment in message.attachments { pending.append((attachment.object, .blob(attachment.size))) }
    }

    /// What the local ref `local` vouches for: itself and, for a thread, its events' objects.
    func trusted(byLocal local: ObjectID?, thread: ThreadManifest?) -> Set<ObjectID> {
        var set = Set<ObjectID>()
        if let local { set.insert(local) }
        for event in thread?.events ?? [] { if let object = event.object { set.insert(object) } }
        return set
    }

    private enum Expect { case any, message, event, blob(UInt64) }

    /// The manifest `id` that `thread` names as a `what` ("message", "event"): `bundled` (this
    /// bundle's, already decoded) or the store's. An object of another kind (in the bundle or
    /// the store) is refused; one that neither holds is a missing prerequisite.
    private func named<T>(_ id: ObjectID, _ what: String, in thread: ThreadManifest, bundled: T?,
                          _ extract: (AnyManifest) -> T?) throws -> T {
        if let bundled { return bundled }
        let wrongKind = SyncError(.badInput, "thread \(thread.id) names object \(id.short) as \(what == "event" ? "an" : "a") \(what), but it is not one")
        guard inBundle[id] == nil else { throw wrongKind }
        guard store.contains(id) else { throw missing(id, "\(what) object") }
        guard let manifest = extract(try loadAny(id)) else { throw wrongKind }
        return manifest
    }

    private func loadAny(_ id: ObjectID) throws -> AnyManifest {
        try repository.loadAny(id)
    }
}

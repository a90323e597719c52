import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore

extension SyncEngine {
    /// Checks a bundle completely without changing anything: checksum, header, capabilities,
    /// every object's hash, schemas of manifests, prerequisites and the messaging and privacy
    /// rules. Returns what applying it would do.
    public func verifyBundle(_ path: String) throws -> (header: BundleHeader, result: ApplyResult) {
        try process(path, apply: false)
    }

    /// Applies a bundle all-or-nothing: every object is staged and verified first, then heads
    /// (and the checkpoint) move in one ref transaction. Applying the same bundle again
    /// changes nothing.
    ///
    /// `beforeCommit` runs after every check and before anything becomes durable; if it throws,
    /// nothing changes (a server re-checks a token's authority there, atomically with the apply).
    @discardableResult
    public func applyBundle(_ path: String, progress: ProgressHandler? = nil,
                            beforeCommit: (() throws -> Void)? = nil) throws -> ApplyResult {
        try process(path, apply: true, progress: progress, beforeCommit: beforeCommit).result
    }

    /// Reads a bundle's header after checking magic, version, the trailing checksum and the
    /// header's schema and capabilities (no object is read and nothing changes). A server uses
    /// it to learn who a received bundle claims to come from before applying it.
    public func bundleHeader(_ path: String) throws -> BundleHeader {
        let bundle = try BundleFile.open(path)
        defer { bundle.close() }
        return bundle.header
    }

    private func process(_ path: String, apply: Bool, progress: ProgressHandler? = nil,
                         beforeCommit: (() throws -> Void)? = nil) throws -> (header: BundleHeader, result: ApplyResult) {
        // One read of the file: the checksum is checked by `bundle.finish()`, before any ref moves.
        let bundle = try BundleFile.open(path, checksumFirst: false)
        defer { bundle.close() }
        let header = bundle.header
        let store = repository.store
        guard header.target == repository.replica else {
            throw SyncError(.badInput, "bundle is for replica \(header.target), but this store is \(repository.replica)")
        }
        guard header.source != repository.replica else {
            throw SyncError(.badInput, "bundle comes from this store itself")
        }
        let staffOnlyAllowed = !repository.isPortal && header.sourceRole == .workstation
        let previous = try repository.checkpoint(for: header.source)
        if !header.full {
            let received = previous?.value.received
            guard let received, received.epoch == header.epoch, received.sequence >= header.since else {
                let have = previous?.value.received.map { "up to \($0.sequence) (epoch \($0.epoch))" } ?? "nothing"
                throw SyncError(.missingPrerequisite,
                                "bundle carries changes of \(header.source) after \(header.since) (epoch \(header.epoch)), but this store has received \(have); ask for a new bundle, which will include what is missing")
            }
        }

        // Stage and verify every object.
        let batch = try store.batch()
        var published = false
        defer { if !published { batch.abandon() } }
        var inBundle: [ObjectID: (kind: ObjectKind, length: UInt64)] = [:]
        var threadsIn: [ObjectID: ThreadManifest] = [:]
        var eventsIn: [ObjectID: ThreadEvent] = [:]
        var otherIn: [ObjectID: [UInt8]] = [:]
        var messagesIn: [ObjectID: MessageManifest] = [:]
        var draftsIn: [ObjectID: AnyManifest] = [:]
        var result = ApplyResult()
        let reader = bundle.packReader()
        do {
            while let entry = try reader.next() {
                let id: ObjectID
                if entry.kind == .manifest {
                    guard entry.length <= UInt64(ParseLimits.default.maxInputBytes) else {
                        throw SyncError(.badInput, "bundle holds a manifest of \(entry.length) bytes, over the limit")
                    }
                    let payload = try reader.readEntry(limit: entry.length)
                    let bytes = payload.bytes
                    id = payload.id
                    let manifest: AnyManifest
                    do { manifest = try AnyManifest.decode(bytes, trust: .untrusted) } catch {
                        throw SyncError(.badInput, "bundle object \(id.short) is not a valid manifest: \(error)")
                    }
                    switch manifest {
                    case .thread(let thread): threadsIn[id] = thread
                    case .message(let message): messagesIn[id] = message
                    case .event(let event): eventsIn[id] = event
                    case .envelope, .draft, .draftSet:
                        guard staffOnlyAllowed else {
                            throw SyncError(.refused, "bundle from \(header.source) (\(header.sourceRole.rawValue)) carries staff-only \(manifest.vocabulary) data, which never travels to or from a portal")
                        }
                        draftsIn[id] = manifest
                        otherIn[id] = bytes
                    default:
                        throw SyncError(.badInput, "bundle carries a \(manifest.vocabulary) manifest, which sync never sends")
                    }
                    if apply, inBundle[id] == nil {
                        if !store.contains(id) { result.objects += 1 }
                        try batch.put(payload)
                    }
                } else if apply {
                    // The reader hashes what it yields; the batch adopts that ID (one hash).
                    id = try batch.put(entryOf: reader, kind: entry.kind, length: entry.length)
                    result.objects += 1
                } else {
                    var scratch = [UInt8](repeating: 0, count: 1 << 20)
                    while try scratch.withUnsafeMutableBytes({ try reader.read(into: $0) }) > 0 {}
                    id = reader.lastID!
                }
                guard inBundle.updateValue((entry.kind, entry.length), forKey: id) == nil else {
                    throw SyncError(.badInput, "bundle carries object \(id.short) twice")
                }
                if reader.count % 256 == 0 {
                    progress?(ProgressEvent(phase: "checking objects", completed: reader.count, total: header.objects, unit: .items))
                }
            }
            try reader.finish()
            try bundle.finish()
        } catch let error as StoreError {
            throw SyncError(.badInput, "bundle pack is damaged: \(error.message)")
        }
        guard reader.count == header.objects else {
            throw SyncError(.badInput, "bundle header says \(header.objects) objects but the pack holds \(reader.count)")
        }

        let objects = BundleObjects(repository: repository, inBundle: inBundle, threads: threadsIn,
                                    messages: messagesIn, events: eventsIn, staffOnly: draftsIn,
                                    staffOnlyBytes: otherIn)

        // Heads: kinds and identity, then merge (set union), quarantine, completeness.
        var updates: [RefUpdate] = []
        var newMessages: [MessageManifest] = []
        var reached = Set<ObjectID>()
        for head in header.heads {
            let name: RefName
            do { name = try RefName(head.ref) } catch { throw SyncError(.badInput, "bundle names an invalid ref") }
            if SyncScope.isStaffOnly(head.ref) {
                guard staffOnlyAllowed else {
                    throw SyncError(.refused, "bundle from \(header.source) carries staff-only ref \(head.ref), which never travels to or from a portal")
                }
            } else if !head.ref.hasPrefix("threads/") {
                throw SyncError(.badInput, "bundle carries ref \(head.ref), which sync never sends")
            }
            guard objects.available(head.object) else {
                throw SyncError(.missingPrerequisite, "bundle head \(head.ref) needs object \(head.object.short), which is neither in the bundle nor in this store; ask the sender for a full bundle (satchel bundle create --full)")
            }
            let local = try store.refs.read(name)
            let localThread = try head.ref.hasPrefix("threads/") ? local.map { try repository.load(ThreadManifest.self, $0) } : nil
            try objects.closure(of: head.object, trusted: objects.trusted(byLocal: local, thread: localThread), reached: &reached)
            if head.ref.hasPrefix("drafts/") {
                try mergeDraft(head, name: name, local: local, load: objects.staffOnlyManifest, batch: apply ? batch : nil,
                               updates: &updates, result: &result)
                continue
            }
            guard head.ref.hasPrefix("threads/") else {
                // Envelopes: immutable per (thread, message); keep what we have.
                try objects.checkEnvelope(head.object, ref: head.ref)
                if local == nil {
                    updates.append(RefUpdate(name, from: nil, to: head.object))
                    result.applied += 1
                } else {
                    result.unchanged += 1
                }
                continue
            }
            let incoming = try objects.thread(head.object, ref: head.ref)
            guard "threads/" + incoming.id == head.ref, incoming.version == head.version else {
                throw SyncError(.badInput, "bundle head \(head.ref) does not match its thread manifest")
            }
            let known = Set(localThread?.events.map(\.key) ?? [])
            let merged = try localThread.map { try ThreadMerge.merge($0, incoming) } ?? incoming
            // Every event new here must agree with its object; rule breakers are quarantined.
            for event in incoming.events where !known.contains(event.key) {
                if event.kind == .message {
                    let message = try objects.message(of: event, in: incoming)
                    if let violation = MessagingRules.judge(message, event: event, in: merged) {
                        if case .inconsistent(let what) = violation { throw SyncError(.badInput, "bundle head \(head.ref): \(what)") }
                        result.quarantined.append(Quarantined(thread: incoming.id, message: message.id, violation: violation))
                    } else if message.author.kind == .staff {
                        newMessages.append(message)
                    }
                } else {
                    try objects.checkFlagEvent(event, in: incoming)
                    if let violation = MessagingRules.judge(flag: event), let dot = event.dot {
                        result.quarantined.append(Quarantined(thread: incoming.id, message: "\(dot.replica):\(dot.counter)",
                                                              violation: violation))
                    }
                }
            }
            let mergedID = try merged.objectID()
            if mergedID == local {
                result.unchanged += 1
                continue
            }
            if local == nil { result.applied += 1 } else if mergedID == head.object { result.fastForwarded += 1 } else { result.merged += 1 }
            result.threads += 1
            if mergedID != head.object, apply { try batch.put(.manifest, merged.encoded()) }
            updates.append(RefUpdate(name, from: local, to: mergedID))
        }
        // A bundle is exactly closed: nothing in it that no head reaches.
        if let stray = inBundle.keys.first(where: { !reached.contains($0) }) {
            throw SyncError(.badInput, "bundle carries object \(stray.short), which none of its heads reaches")
        }
        guard apply else { return (header, result) }

        // Notifications for messages that just became readable on this portal.
        if repository.isPortal {
            updates += try repository.queueNotifications(for: newMessages.filter { $0.author.kind == .staff }, in: batch)
        }

        // The checkpoint moves in the same transaction as the heads.
        let checkpointRef = try SyncScope.checkpointRef(header.source)
        var checkpoint = previous?.value ?? PeerCheckpoint(peer: header.source, peerRole: header.sourceRole, received: nil,
                                                           delivered: nil, updated: .now())
        checkpoint.peerRole = header.sourceRole
        // Never backwards: a stale full bundle applied late must not forget newer changes received.
        if checkpoint.received?.epoch != header.epoch || (checkpoint.received?.sequence ?? 0) < header.upTo {
            checkpoint.received = .init(epoch: header.epoch, sequence: header.upTo)
        }
        let ourEpoch = try store.refs.changeLog.epoch()
        if let ack = header.ack {
            if ack.epoch == ourEpoch {
                if checkpoint.delivered?.epoch != ourEpoch || (checkpoint.delivered?.sequence ?? 0) < ack.sequence {
                    checkpoint.delivered = ack
                }
            } else {
                // The peer acknowledges another epoch of our log (a stale bundle of an older
                // epoch moved its position back): the next bundle for it is a full one, or the
                // pair would wedge on refused incremental bundles (found by Tools/Model).
                checkpoint.delivered = nil
            }
        }
        if checkpoint != previous?.value {
            checkpoint.updated = .now()
            let object = try batch.put(.manifest, checkpoint.encoded())
            updates.append(RefUpdate(checkpointRef, from: previous?.id, to: object))
        }
        try beforeCommit?()
        do {
            try batch.commit(moving: updates)
        } catch let error as StoreError where error.code == .conflict {
            throw SyncError(.badInput, "a thread changed locally while the bundle was applied; nothing was changed, apply it again")
        }
        published = true
        return (header, result)
    }

    /// Merges an incoming draft head into ours (``DraftMerge``): the ref moves to the merged
    /// versions, a new ``DraftSet`` is staged in `batch` when the result has several.
    func mergeDraft(_ head: BundleHeader.Head, name: RefName, local: ObjectID?,
                    load: (ObjectID) throws -> AnyManifest, batch: ObjectBatch?,
                    updates: inout [RefUpdate], result: inout ApplyResult) throws {
        let draftID = String(head.ref.dropFirst("drafts/".count))
        let incoming: DraftHead, ours: DraftHead?
        do {
            incoming = try DraftHead.read(head.object, id: draftID, load: load)
            ours = try local.map { try DraftHead.read($0, id: draftID, load: load) }
        } catch let error as MessagingError {
            throw SyncError(.badInput, "bundle head \(head.ref): \(error.message)")
        }
        guard incoming.version == head.version else {
            throw SyncError(.badInput, "bundle head \(head.ref) does not match its draft versions")
        }
        let merged = DraftMerge.merge(ours?.siblings ?? [], incoming.siblings)
        let (mergedID, set) = try DraftMerge.head(of: merged)
        if mergedID == local {
            result.unchanged += 1
            return
        }
        if local == nil { result.applied += 1 } else if mergedID == head.object { result.fastForwarded += 1 } else { result.merged += 1 }
        if let set, mergedID != head.object, let batch { try batch.put(.manifest, set.encoded()) }
        updates.append(RefUpdate(name, from: local, to: mergedID))
    }
}

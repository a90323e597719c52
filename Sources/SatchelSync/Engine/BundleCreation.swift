import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore

/// What `bundle create` (or one direction of a sync) moved.
public struct TransferSummary: Sendable, Equatable {
    /// Threads whose heads the bundle carries.
    public var threads = 0
    /// Objects in the bundle.
    public var objects = 0
    /// Size of the bundle in bytes.
    public var bytes: UInt64 = 0
    /// Whether the bundle holds the whole state rather than the changes since a checkpoint.
    public var full = false

    /// A summary with the given counts.
    public init(threads: Int = 0, objects: Int = 0, bytes: UInt64 = 0, full: Bool = false) {
        self.threads = threads
        self.objects = objects
        self.bytes = bytes
        self.full = full
    }
}

extension SyncEngine {
    /// Writes a bundle for `target` holding what changed since the target's checkpoint (or
    /// everything, as a full bundle, when there is no valid checkpoint).
    ///
    /// - `targetRole`: the target's role if known (else the checkpoint's, else portal, the safe
    ///   choice: staff-only data is left out).
    /// - `targetHas`: for direct syncs, objects the target already holds are left out.
    /// - `targetRef`: for direct syncs, the target's current value of a ref; a head it already
    ///   names is left out. Without it every changed head is sent (threads whose head object the
    ///   target holds are not counted in the summary).
    /// - `full`: everything, whatever the checkpoint says (for a peer that lacks a prerequisite).
    /// - `progress`: hears how many objects have been packed.
    ///
    /// An incremental bundle leaves out what the target already has, as git bundle prerequisites
    /// do: for each changed thread, every object reachable from the head the target has
    /// acknowledged (the value the change log recorded before the first change since the
    /// target's checkpoint). Thread heads only grow (their events are a set that merge unions),
    /// so everything that value reaches is still reached by the new head and held by the target.
    public func createBundle(for target: String, targetRole: StoreConfig.Role? = nil, to path: String,
                             targetHas: ((ObjectID) -> Bool)? = nil,
                             targetRef: ((RefName) throws -> ObjectID?)? = nil, full forceFull: Bool = false,
                             progress: ProgressHandler? = nil) throws -> TransferSummary {
        try createBundle(for: target, targetRole: targetRole, to: path, targetHas: targetHas, targetRef: targetRef,
                         full: forceFull, progress: progress, manifestBudget: Self.manifestMemoryBudget)
    }

    /// ``createBundle(for:targetRole:to:targetHas:targetRef:full:progress:)`` keeping at most
    /// `manifestBudget` bytes of manifests in memory (tests use a small one to reach the spool).
    func createBundle(for target: String, targetRole: StoreConfig.Role?, to path: String,
                      targetHas: ((ObjectID) -> Bool)?, targetRef: ((RefName) throws -> ObjectID?)?, full forceFull: Bool,
                      progress: ProgressHandler?, manifestBudget: Int) throws -> TransferSummary {
        guard target != repository.replica else {
            throw SyncError(.badInput, "a bundle cannot be made for this store's own replica \(target)")
        }
        try DurableFile.checkAbsent(path)  // before the work; the write checks again
        let store = repository.store
        let plan = try outgoingPlan(for: target, targetRole: targetRole, forceFull: forceFull)
        let (checkpoint, staffOnly, epoch, upTo, since, full, refs) =
            (plan.checkpoint, plan.staffOnly, plan.epoch, plan.upTo, plan.since, plan.full, plan.refs)
        var acknowledged = Set<ObjectID>()
        for previous in plan.acknowledged where store.contains(previous) {
            try reach(from: previous, into: &acknowledged)
        }

        // Heads to send.
        var heads: [BundleHeader.Head] = []
        var threads = 0
        for (name, id) in refs {
            // A head is left out only when the target's ref names it already (direct sync). A
            // head whose object the target merely holds (have-list negotiation) is still sent:
            // an apply that failed half-way can leave the object without the ref, and a retry
            // must move the ref. Such a head costs a header entry; its objects stay out.
            if let targetRef, try targetRef(name) == id { continue }
            var version = VersionVector()
            if name.rawValue.hasPrefix("threads/") {
                version = try repository.load(ThreadManifest.self, id).version
                if targetHas?(id) != true { threads += 1 }
            } else if name.rawValue.hasPrefix("drafts/") {
                version = try repository.draftHead(at: id).version
            }
            heads.append(.init(ref: name.rawValue, object: id, version: version))
        }

        // Objects: everything reachable from the heads through manifest mentions, each once.
        // The walk reads every manifest once: its bytes are kept in memory up to a budget, the
        // rest appended to a scratch file read back in order (not read from the store again).
        // Blobs are streamed from the store straight into the bundle (BundleFile).
        var objects: [BundleFile.Object] = []
        var kept = 0
        let spool = BundleFile.ManifestSpool(store: store)
        defer { spool.remove() }
        try store.walk(from: heads.map(\.object), skipping: acknowledged) { id, kind, length, manifest in
            if let manifest, !staffOnly { try Self.refuseStaffOnly(manifest, id: id) }
            if targetHas?(id) == true { return }
            var object = BundleFile.Object(id: id, kind: kind, length: length, bytes: nil)
            if kind == .blob && length >= BundleFile.largeBlobMinimum {
                object.packed = try store.packedZlibEntry(id, kind: kind, length: length)
            }
            if let manifest {
                if kept + manifest.count <= manifestBudget {
                    object.bytes = manifest
                    kept += manifest.count
                } else {
                    try spool.append(manifest)
                    object.spooled = true
                }
            }
            objects.append(object)
            if objects.count % 256 == 0 {
                progress?(ProgressEvent(phase: "packing objects", completed: UInt64(objects.count), total: nil, unit: .items))
            }
        }
        let ack = checkpoint?.received
        let header = BundleHeader(
            source: repository.replica, sourceRole: repository.role, target: target, epoch: epoch, since: since,
            upTo: upTo, full: full, created: .now(), capabilities: ["threads-2"] + (staffOnly ? ["envelopes-1", "drafts-1"] : [])
                + (objects.contains { $0.packed != nil } ? [BundleFile.zlibBlobs] : []),
            ack: ack, heads: heads, objects: UInt64(objects.count))
        let bytes = try BundleFile.write(header: header, objects: objects, from: store, spool: spool, to: path)
        return TransferSummary(threads: threads, objects: objects.count, bytes: bytes, full: full)
    }

    /// Manifest bytes a bundle being created keeps from its walk; past it, manifests wait in a
    /// scratch file (memory stays bounded for any number of threads).
    static let manifestMemoryBudget = 32 << 20

    /// What a bundle for `target` would start from: its checkpoint, the change-log window and
    /// the refs (with their current objects) that changed in it.
    struct OutgoingPlan {
        var checkpoint: PeerCheckpoint?
        var staffOnly: Bool
        var epoch: String
        var upTo: UInt64
        var since: UInt64
        var full: Bool
        var refs: [(RefName, ObjectID)]
        /// Thread heads the target has acknowledged (values before the changes being sent).
        var acknowledged: [ObjectID] = []
    }

    func outgoingPlan(for target: String, targetRole: StoreConfig.Role?, forceFull: Bool = false) throws -> OutgoingPlan {
        let store = repository.store
        let checkpoint = try repository.checkpoint(for: target)?.value
        let role = targetRole ?? checkpoint?.peerRole ?? .portal
        let staffOnly = !repository.isPortal && role == .workstation
        let log = store.refs.changeLog
        let epoch = try log.epoch()
        let upTo = try log.lastSequence()
        var since: UInt64 = 0
        var full = true
        if !forceFull, let delivered = checkpoint?.delivered, delivered.epoch == epoch, delivered.sequence <= upTo {
            since = delivered.sequence
            full = false
        }
        var refs: [(RefName, ObjectID)] = []
        var acknowledged: [ObjectID] = []
        // Log first, then settle, then refs: every change the records read describe has then
        // reached its ref (RefStore.settle), so no bundle counts a change as sent (`upTo`)
        // while carrying the ref's old value.
        if full {
            try store.refs.settle()
            refs = try SyncScope.prefixes(staffOnly: staffOnly).flatMap { try store.refs.list(prefix: $0) }.map { ($0.name, $0.id) }
        } else {
            let changes = try log.changes(after: since)
            try store.refs.settle()
            for entry in changes {
                guard SyncScope.isSyncable(entry.ref.rawValue, staffOnly: staffOnly),
                      let current = try store.refs.read(entry.ref) else { continue }
                refs.append((entry.ref, current))
                if entry.ref.rawValue.hasPrefix("threads/"), entry.previousKnown, let previous = entry.previous,
                   previous != current {
                    acknowledged.append(previous)
                }
            }
        }
        return OutgoingPlan(checkpoint: checkpoint, staffOnly: staffOnly, epoch: epoch, upTo: upTo, since: since,
                            full: full, refs: refs, acknowledged: acknowledged)
    }

    /// The objects a bundle for `target` would carry now if the target had none of them: the
    /// "offer" of a have-list negotiation. A transport asks the target which of these it holds
    /// and passes the answer to ``createBundle(for:targetRole:to:targetHas:targetRef:full:progress:)``. Changes nothing.
    public func offer(for target: String, targetRole: StoreConfig.Role? = nil) throws -> [ObjectID] {
        guard target != repository.replica else {
            throw SyncError(.badInput, "a bundle cannot be made for this store's own replica \(target)")
        }
        var objects: [ObjectID] = []
        try repository.store.walk(from: try outgoingPlan(for: target, targetRole: targetRole).refs.map(\.1)) { id, _, _, _ in
            objects.append(id)
        }
        return objects
    }

    /// Everything `root` reaches (itself included), added to `set`.
    func reach(from root: ObjectID, into set: inout Set<ObjectID>) throws {
        // What `set` holds was reached before, with everything it reaches.
        set.formUnion(try repository.store.walk(from: [root], skipping: set))
    }

    /// Defense in depth: a manifest bound for a portal must not be staff-only.
    static func refuseStaffOnly(_ bytes: [UInt8], id: ObjectID) throws {
        let head = String(decoding: bytes.prefix(200), as: UTF8.self)
        for vocabulary in SyncScope.staffOnlyVocabularies where head.contains("\"\(vocabulary.namespace)\"") {
            throw SyncError(.refused, "object \(id.short) is staff-only (\(vocabulary)) and may not leave for a portal")
        }
    }
}

/// A group of writes that become durable together. Until ``commit(durable:layout:)`` returns,
/// none of the batch's objects is visible in the store; a batch dropped without commit leaves
/// nothing behind. Objects already in the store (and intact) are not written again.
///
/// Encode once: objects are held in memory, hashed once, while the batch is small enough to be
/// published as loose objects (at most ``looseObjectLimit`` objects and ``looseByteLimit``
/// bytes); the first object past either limit moves them all into a pack being written, and
/// everything after streams straight into it. So each object is deflated exactly once, into its
/// final form: a loose file (two barriers for the whole batch) or a pack entry (one pack, one
/// barrier).
public final class ObjectBatch {
    private let store: ObjectStore
    private let policy: CompressionPolicy
    /// The pack being written, once the batch has outgrown memory (or is detached).
    private var writer: PackWriter?
    /// Objects held in memory, in the order added, while the batch may still go loose.
    private var pending: [(kind: ObjectKind, bytes: [UInt8], id: ObjectID)] = []
    private var pendingIDs: Set<ObjectID> = []
    private var pendingBytes: UInt64 = 0
    /// Objects written by this batch.
    public private(set) var added = 0
    /// Objects added that the store already held intact (not written again).
    public private(set) var reused = 0

    private let includeExisting: Bool

    init(store: ObjectStore, includeExisting: Bool = false, policy: CompressionPolicy? = nil) throws {
        self.store = store
        self.includeExisting = includeExisting
        self.policy = policy ?? store.compression
        // Detached batches always become a pack: write it from the start.
        if includeExisting { writer = try PackWriter(tempDirectory: store.tempDirectory, policy: self.policy) }
        store.packSet.refresh()
    }

    /// The pack writer, after moving every object held in memory into it.
    private func spill() throws -> PackWriter {
        if let writer { return writer }
        let writer = try PackWriter(tempDirectory: store.tempDirectory, policy: policy)
        self.writer = writer
        for object in pending { try writer.add(kind: object.kind, bytes: object.bytes, knownID: object.id) }
        pending = []
        pendingIDs = []
        pendingBytes = 0
        return writer
    }

    /// Whether one more object of `length` bytes still fits the loose-object limits.
    private func fitsInMemory(_ length: UInt64) -> Bool {
        writer == nil && pending.count < Self.looseObjectLimit && length <= Self.looseByteLimit - pendingBytes
    }

    /// Adds an in-memory payload.
    @discardableResult
    public func put(_ kind: ObjectKind, _ bytes: [UInt8]) throws -> ObjectID {
        try put(kind, bytes, id: ObjectID.compute(kind: kind, payload: bytes))
    }

    /// Adds a payload whose ID is known (hashed once, by this batch or a pack stream reader).
    private func put(_ kind: ObjectKind, _ bytes: [UInt8], id: ObjectID) throws -> ObjectID {
        guard fitsInMemory(UInt64(bytes.count)) else {
            let result = try spill().add(kind: kind, bytes: bytes, knownID: id, skip: alreadyStored)
            count(result.added)
            return result.id
        }
        if pendingIDs.contains(id) || alreadyStored(id) {
            count(false)
            return id
        }
        pending.append((kind, bytes, id))
        pendingIDs.insert(id)
        pendingBytes += UInt64(bytes.count)
        count(true)
        return id
    }

    /// Adds a payload read from a pack stream, adopting the ID the reader computed (no second hash).
    @discardableResult
    public func put(_ payload: VerifiedPayload) throws -> ObjectID {
        try put(payload.kind, payload.bytes, id: payload.id)
    }

    /// Adds the rest of the entry `reader` is on, adopting the ID the reader computes as it
    /// streams (no second hash): through memory while the batch may still go loose, else
    /// straight into the pack. A zlib entry that goes into the pack is adopted as it came (no
    /// second deflate: ``PackWriter/adopt(entryOf:kind:length:skip:)``), unless this batch
    /// stores everything (``CompressionPolicy/never``).
    @discardableResult
    public func put(entryOf reader: PackStreamReader, kind: ObjectKind, length: UInt64) throws -> ObjectID {
        if fitsInMemory(length) { return try put(try reader.readEntry(limit: length)) }
        if reader.entryIsCompressed && policy.compresses {
            let result = try spill().adopt(entryOf: reader, kind: kind, length: length, skip: alreadyStored)
            count(result.added)
            return result.id
        }
        var source = reader
        let result = try spill().add(kind: kind, length: length, source: &source, knownID: {
            guard let id = reader.lastID else { throw StoreError(.corrupt, "pack entry \(reader.count) was not read to its end") }
            return id
        }, skip: alreadyStored)
        count(result.added)
        return result.id
    }

    /// Streams a payload of `length` bytes. A payload that still fits the loose-object limits is
    /// read into memory (at most ``looseByteLimit`` bytes); anything larger streams into the pack.
    @discardableResult
    public func put(_ kind: ObjectKind, length: UInt64, from source: inout some ByteSource) throws -> ObjectID {
        guard fitsInMemory(length) else {
            let result = try spill().add(kind: kind, length: length, source: &source, skip: alreadyStored)
            count(result.added)
            return result.id
        }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        let filled = try bytes.withUnsafeMutableBytes { try PayloadEncoder.fill(&source, $0) }
        guard UInt64(filled) == length else {
            throw StoreError(.invalidArgument, "input ended after \(filled) of \(length) bytes (was it changed while being read?)")
        }
        try PayloadEncoder.expectEnd(&source, after: length)
        return try put(kind, bytes)
    }

    /// True if the batch will hold (or the store holds) this object.
    public func contains(_ id: ObjectID) -> Bool {
        pendingIDs.contains(id) || writer?.contains(id) == true || (!includeExisting && store.contains(id))
    }

    private func alreadyStored(_ id: ObjectID) -> Bool {
        !includeExisting && store.freshenIfPresent(id, refreshPacks: false)
    }

    private func count(_ wasAdded: Bool) {
        if wasAdded { added += 1 } else { reused += 1 }
    }

    /// Batches at or under both limits are published as loose objects (two barriers for the
    /// whole batch) rather than as one more tiny pack.
    public static let looseObjectLimit = 32
    /// Payload bytes of the largest batch published as loose objects.
    public static let looseByteLimit: UInt64 = 4 << 20

    /// How ``commit(durable:layout:)`` publishes: by size, or always as a pack (bundles,
    /// backups and tests that need a pack).
    public enum Layout: Sendable { case automatic, pack }

    /// Makes everything added durable and visible. Bulk batches become one pack (one barrier
    /// for all objects); small ones become loose objects. Returns the pack written, or nil if
    /// nothing needed a pack. `durable: false` always writes a pack and skips its fsyncs.
    @discardableResult
    public func commit(durable: Bool = true, layout: Layout = .automatic) throws -> PackInfo? {
        if durable && layout == .automatic && writer == nil {
            try stageLoose().publish()
            return nil
        }
        let info = try spill().finish(into: store.packsDirectory, durable: durable)
        store.packSet.refresh()
        return info
    }

    /// Makes everything added durable and moves `updates` in one ref transaction
    /// (``RefStore/commit(_:)``), with the fewest barriers: a small batch's objects and the refs
    /// share them (object contents; object names with the change-log records; the refs), so a
    /// one-thread send costs three barriers in all. If the transaction is refused (a ref moved:
    /// `.conflict`), the objects of a small batch are not published either.
    public func commit(moving updates: [RefUpdate]) throws {
        guard writer == nil, !updates.isEmpty else {
            try commit()
            try store.refs.commit(updates)
            return
        }
        let staged = try stageLoose()
        do {
            try store.refs.commit(updates, objects: staged)
        } catch {
            staged.discard()
            throw error
        }
    }

    /// Moves the objects held in memory into temporary loose files (each encoded once).
    private func stageLoose() throws -> StagedLoose {
        let objects = pending
        pending = []
        pendingIDs = []
        pendingBytes = 0
        // Buffers sized to the largest object, not 1 MiB: a send's manifests are a few KiB.
        let largest = UInt64(objects.map(\.bytes.count).max() ?? 0)
        return try store.loose.stage(objects, encoder: PayloadEncoder(policy: store.compression, expectedLength: largest))
    }

    /// Seals the objects as a standalone pack file (not published in the store) for bundles
    /// and archives. The caller owns the file.
    public func sealDetached() throws -> (path: String, bytes: UInt64, objects: Int) {
        try spill().seal()
    }

    /// Adds an already-encoded pack entry (see ``copyPacked(_:from:limit:)``).
    func addRaw(id: ObjectID, entry: [UInt8]) throws {
        let writer = try spill()
        guard !writer.contains(id) else { return }
        try writer.addRaw(id: id, entry: entry)
        added += 1
    }

    /// Discards everything added.
    public func abandon() {
        pending = []
        pendingIDs = []
        pendingBytes = 0
        writer?.abandon()
    }
}

extension ObjectStore {
    /// A batch whose objects are all written, even those the store already holds: for building a
    /// standalone pack (bundle, archive) from this store's objects. With `compress: false` every
    /// entry is stored (encoding 0), for a pack that is compressed as a whole afterwards (bundles);
    /// don't mix that with ``ObjectBatch/copyPacked(_:from:limit:)``, which copies entries as they are.
    public func detachedPack(compress: Bool = true) throws -> ObjectBatch {
        try ObjectBatch(store: self, includeExisting: true, policy: compress ? nil : .never)
    }
}

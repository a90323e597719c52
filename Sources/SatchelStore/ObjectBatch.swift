/// A group of writes that become durable together: every object added goes into one pack,
/// and ``commit(durable:layout:)`` fsyncs the pack, its index and the directory once. Objects already in the
/// store (and intact) are not written again.
///
/// Until ``commit(durable:layout:)`` returns, none of the batch's objects is visible in the store. A batch
/// that is dropped without commit leaves nothing behind.
public final class ObjectBatch {
    private let store: ObjectStore
    private let writer: PackWriter
    /// Objects written by this batch.
    public private(set) var added = 0
    /// Objects added that the store already held intact (not written again).
    public private(set) var reused = 0

    private let includeExisting: Bool

    init(store: ObjectStore, includeExisting: Bool = false, policy: CompressionPolicy? = nil) throws {
        self.store = store
        self.includeExisting = includeExisting
        writer = try PackWriter(tempDirectory: store.tempDirectory, policy: policy ?? store.compression)
        store.packSet.refresh()
    }

    /// Adds an in-memory payload.
    @discardableResult
    public func put(_ kind: ObjectKind, _ bytes: [UInt8]) throws -> ObjectID {
        let result = try writer.add(kind: kind, bytes: bytes, skip: alreadyStored)
        count(result.added)
        return result.id
    }

    /// Streams a payload of `length` bytes.
    @discardableResult
    public func put(_ kind: ObjectKind, length: UInt64, from source: inout some ByteSource) throws -> ObjectID {
        let result = try writer.add(kind: kind, length: length, source: &source, skip: alreadyStored)
        count(result.added)
        return result.id
    }

    /// True if the batch will hold (or the store holds) this object.
    public func contains(_ id: ObjectID) -> Bool {
        writer.contains(id) || (!includeExisting && store.contains(id))
    }

    private func alreadyStored(_ id: ObjectID) -> Bool {
        !includeExisting && store.freshenIfPresent(id, refreshPacks: false)
    }

    private func count(_ wasAdded: Bool) {
        if wasAdded { added += 1 } else { reused += 1 }
    }

    /// Batches at or under both limits are published as loose objects (a handful of fsyncs)
    /// rather than as one more tiny pack.
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
        if durable && layout == .automatic && writer.count <= Self.looseObjectLimit && writer.payloadBytes <= Self.looseByteLimit {
            _ = try writer.finishAsLoose(into: store.loose, policy: store.compression)
            return nil
        }
        let info = try writer.finish(into: store.packsDirectory, durable: durable)
        store.packSet.refresh()
        return info
    }

    /// Seals the objects as a standalone pack file (not published in the store) for bundles
    /// and archives. The caller owns the file.
    public func sealDetached() throws -> (path: String, bytes: UInt64, objects: Int) {
        try writer.seal()
    }

    /// Adds an already-encoded pack entry (see ``copyPacked(_:from:limit:)``).
    func addRaw(id: ObjectID, entry: [UInt8]) throws {
        guard !writer.contains(id) else { return }
        try writer.addRaw(id: id, entry: entry)
        added += 1
    }

    /// Discards everything added.
    public func abandon() { writer.abandon() }
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

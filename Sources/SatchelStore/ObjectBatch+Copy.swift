extension ObjectBatch {
    /// Copies an object that `source` holds in a pack into this batch as its raw pack entry
    /// (no inflate, no re-deflate: the gc repack path). The entry's CRC is checked on the way;
    /// its hash is checked by whoever reads the batch's pack (restore, verify).
    /// Returns the object's kind, or nil when `source` has no packed copy of it (or the entry
    /// is over `limit` bytes): then copy it the ordinary way.
    public func copyPacked(_ id: ObjectID, from source: ObjectStore, limit: UInt64 = 16 << 20) throws -> ObjectKind? {
        for pack in source.packSet.locate(id, refreshOnMiss: false) {
            guard let location = pack.index.entry(for: id), location.size <= limit else { continue }
            let entry = try pack.rawEntry(location)
            guard entry.count >= PackFormat.entryHeaderSize, let kind = ObjectKind(rawValue: entry[0]) else {
                throw StoreError(.corrupt, "pack entry header for \(id.short) is damaged", path: pack.packPath, object: id)
            }
            try addRaw(id: id, entry: entry)
            return kind
        }
        return nil
    }
}

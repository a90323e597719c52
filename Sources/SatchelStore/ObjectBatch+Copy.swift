import SystemPackage

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

extension ObjectBatch {
    /// Copies a blob of `length` bytes from `source` into this batch with bounded memory: small
    /// ones through memory, large ones through a verified temporary file (bundles, archives).
    public func copyBlob(_ id: ObjectID, length: UInt64, from source: ObjectStore) throws {
        let inMemory: UInt64 = 8 << 20
        if length <= inMemory {
            try put(.blob, try source.read(id, limit: Int(inMemory)).bytes)
            return
        }
        let temp = source.tempDirectory + "/copy-" + Sys.randomToken() + ".tmp"
        defer { try? Sys.unlink(temp) }
        try source.export(id, to: temp, mode: .ephemeral)
        let fd: FileDescriptor
        do { fd = try FileIO.openRead(temp) } catch {
            throw StoreError.io(error, path: temp, "cannot reopen temporary copy")
        }
        try FileIO.closeAfter(fd) { fd in
            var reader = FileSource(fd)
            try put(.blob, length: length, from: &reader)
        }
    }
}

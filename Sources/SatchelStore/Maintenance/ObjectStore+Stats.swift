/// Counts and sizes of a store.
public struct StoreStats: Sendable {
    /// Distinct objects, loose and packed.
    public var objects = 0
    /// Loose objects.
    public var looseObjects = 0
    /// Packs.
    public var packs = 0
    /// Objects in packs.
    public var packedObjects = 0
    /// Bytes on disk of objects, packs and indexes.
    public var bytes: UInt64 = 0
    /// Number of refs per first path component (`threads`, `drafts`, ...).
    public var refs: [String: Int] = [:]
}

extension ObjectStore {
    /// Counts objects, packs, bytes and refs (reads directories and pack indexes, not objects).
    public func stats() throws -> StoreStats {
        var stats = StoreStats()
        var ids = Set<ObjectID>()
        for id in try looseObjectIDs() {
            ids.insert(id)
            stats.looseObjects += 1
            stats.bytes += (try? Sys.status(loose.path(of: id)).size) ?? 0
        }
        packSet.refresh()
        for pack in packSet.packs {
            stats.packs += 1
            stats.packedObjects += pack.index.count
            for entry in pack.index.allEntries { ids.insert(entry.id) }
            stats.bytes += ((try? Sys.status(pack.packPath).size) ?? 0) + ((try? Sys.status(pack.indexPath).size) ?? 0)
        }
        stats.objects = ids.count
        for (name, _) in try refs.list() {
            let top = name.rawValue.split(separator: "/").first.map(String.init) ?? name.rawValue
            stats.refs[top, default: 0] += 1
        }
        return stats
    }
}

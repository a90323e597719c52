/// Filling the refs of a brand-new store in one go (restore from a backup).
extension RefStore {
    /// Creates every ref in `refs` in a store that nobody else has opened yet (a restore's
    /// private temporary directory) and that has no refs: no locks, no journal. The change log
    /// gets one record per ref (it is created now, with a new epoch), the ref files are
    /// written without per-file fsync, and one syncfs makes them all durable.
    /// Refuses (`.exists`) when any ref already exists. Objects must be durable first.
    public func populate(_ refs: [(name: RefName, id: ObjectID)]) throws {
        guard !refs.isEmpty else { return }
        guard try list().isEmpty else {
            throw StoreError(.exists, "populate needs a store without refs", path: directory)
        }
        let sorted = refs.sorted { $0.name < $1.name }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.name == b.name {
            throw StoreError(.invalidArgument, "ref \(a.name) appears twice")
        }
        try changeLog.append(sorted.map { RefUpdate($0.name, from: nil, to: $0.id) })
        for ref in sorted {
            try ensureParentDirectories(ref.name)
            try FileIO.writeFileDurably(path(of: ref.name), Array((ref.id.description + "\n").utf8),
                                        tempDirectory: tempDirectory, durable: false)
        }
        do { try Sys.syncFileSystem(directory) } catch {
            throw StoreError.io(error, path: directory, "cannot flush restored refs")
        }
    }
}

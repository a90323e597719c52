import Synchronization

/// The packs of a store, loaded lazily and refreshed when an object is not found (another
/// process may have published a pack since).
final class PackSet: Sendable {
    let directory: String
    private let loaded = Mutex<[String: PackFile]>([:])
    private let problems = Mutex<[String: StoreError]>([:])
    /// Modification time of `packs/` at the last refresh: publishing a pack renames into the
    /// directory, which changes it, so an unchanged (and not recent) time means nothing new.
    private let seenModified = Mutex<Double>(-1)
    /// Serializes refreshes: each one lists the directory and replaces the loaded set as one
    /// step, so a slower refresh holding an older listing can never overwrite a newer one.
    private let refreshing = Mutex<Void>(())

    init(directory: String) { self.directory = directory }

    /// Names (`pack-<hex>`) of the packs whose index is present.
    func publishedNames() throws -> [String] {
        try Sys.list(directory).filter { $0.hasSuffix(".idx") }.map { String($0.dropLast(4)) }.sorted()
    }

    /// Re-reads the directory: loads new packs, forgets removed ones. Packs whose index is
    /// damaged are remembered as problems (fsck reports them) and skipped.
    func refresh() {
        refreshing.withLock { _ in refreshLocked() }
    }

    private func refreshLocked() {
        seenModified.withLock { $0 = (try? Sys.status(directory).modified) ?? -1 }
        let names = (try? publishedNames()) ?? []
        let current = loaded.withLock { $0 }
        var next: [String: PackFile] = [:]
        var bad: [String: StoreError] = [:]
        for name in names {
            if let pack = current[name] {
                next[name] = pack
                continue
            }
            do { next[name] = try PackFile(directory: directory, name: name) } catch let error as StoreError {
                bad[name] = error
            } catch {
                bad[name] = StoreError(.io, "cannot load pack \(name): \(error)")
            }
        }
        loaded.withLock { $0 = next }
        problems.withLock { $0 = bad }
    }

    var packs: [PackFile] { loaded.withLock { Array($0.values) }.sorted { $0.name < $1.name } }
    var loadProblems: [String: StoreError] { problems.withLock { $0 } }

    /// The packs holding `id`, refreshing once if none does (unless `refreshOnMiss` is false,
    /// for hot loops that refreshed up front).
    func locate(_ id: ObjectID, refreshOnMiss: Bool = true) -> [PackFile] {
        var found = packs.filter { $0.contains(id) }
        if found.isEmpty && refreshOnMiss {
            // Directory times tick coarsely (a few ms): a time that is recent proves nothing.
            let modified = (try? Sys.status(directory).modified) ?? -1
            if modified == seenModified.withLock({ $0 }) && Sys.now() - modified > 2 { return [] }
            refresh()
            found = packs.filter { $0.contains(id) }
        }
        return found
    }
}

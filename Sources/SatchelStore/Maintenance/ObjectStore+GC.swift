/// What ``ObjectStore/gc(grace:extraRoots:)`` did.
public struct GCReport: Sendable {
    /// Objects reachable from refs (and extra roots): always kept.
    public var reachable = 0
    /// Unreachable loose objects removed.
    public var removedLoose = 0
    /// Packs removed (their live objects were repacked).
    public var removedPacks = 0
    /// Objects copied into the new consolidated pack.
    public var repacked = 0
    /// Unreachable objects kept because they are younger than the grace period.
    public var keptYoung = 0
    /// Leftover temporary files removed.
    public var removedTemp = 0
    /// Bytes of files removed.
    public var bytesFreed: UInt64 = 0
}

extension ObjectStore {
    /// Default grace period: unreachable objects younger than this are kept, so a writer that
    /// stored objects and has not yet moved a ref to them never loses them.
    public static let defaultGrace: Double = 14 * 24 * 3600

    /// The largest manifest gc and fsck read into memory to find the objects it mentions.
    static let manifestReadLimit = 64 << 20

    /// Marks every object reachable from refs (and `extraRoots`) through manifest mentions,
    /// then sweeps unreachable objects older than `grace` seconds.
    ///
    /// Loose objects are removed one by one. Packs older than the grace period that hold
    /// unreachable objects (or are more than one) are consolidated: their reachable objects are
    /// copied into one new pack (made durable first), then the old packs are removed. Age is a
    /// file's modification time; writers that find an object already present freshen it.
    public func gc(grace: Double = defaultGrace, extraRoots: [ObjectID] = []) throws -> GCReport {
        let lock = try LeaseLock.acquire(root + "/tmp/gc.lock", tempDirectory: tempDirectory)
        defer { lock.release() }
        var report = GCReport()
        let cutoff = Sys.now() - grace
        packSet.refresh()

        // Mark. A pack whose index cannot be read, or a manifest that cannot be read, could hide
        // mentions of objects that must stay: gc then stops before removing anything.
        if let (name, error) = packSet.loadProblems.min(by: { $0.key < $1.key }) {
            throw StoreError(.corrupt, "gc stopped before removing anything: pack index packs/\(name).idx is unreadable (\(error.message)); run fsck",
                             path: packsDirectory + "/" + name + ".idx", cause: error)
        }
        var reachable = Set<ObjectID>()
        let roots = try refs.list()
        // A ref naming a missing object is damage (objects are stored before any ref names
        // them): its real target would look unreachable and be swept.
        for (name, id) in roots where !contains(id) {
            throw StoreError(.corrupt, "gc stopped before removing anything: ref \(name) points at \(id), which is missing; run fsck",
                             object: id)
        }
        // Absent objects are skipped (nothing to keep, nothing they mention is known); an
        // unreadable one stops gc.
        do {
            reachable = try walk(from: roots.map(\.id) + extraRoots, missing: .skip)
        } catch let error as StoreError {
            let what = error.object.map { "object \($0)" } ?? "an object"
            throw StoreError(error.isDamage || error.code == .tooLarge ? .corrupt : error.code,
                             "gc stopped before removing anything: \(what) cannot be read (\(error.message)); run fsck",
                             path: error.path, object: error.object, cause: error)
        }
        report.reachable = reachable.count

        // Sweep loose objects.
        for id in try looseObjectIDs() where !reachable.contains(id) {
            let path = loose.path(of: id)
            guard let status = try? Sys.status(path) else { continue }
            if status.modified >= cutoff {
                report.keptYoung += 1
                continue
            }
            if (try? Sys.unlink(path)) != nil {
                report.removedLoose += 1
                report.bytesFreed += status.size
            }
        }

        // Consolidate old packs.
        var oldPacks: [(PackFile, Sys.Status)] = []
        for pack in packSet.packs {
            guard let status = try? Sys.status(pack.packPath) else { continue }
            if status.modified < cutoff {
                oldPacks.append((pack, status))
            } else {
                report.keptYoung += pack.index.allEntries.filter { !reachable.contains($0.id) }.count
            }
        }
        let hasGarbage = oldPacks.contains { pack, _ in pack.index.allEntries.contains { !reachable.contains($0.id) } }
        if hasGarbage || oldPacks.count > 1 {
            let writer = try PackWriter(tempDirectory: tempDirectory, policy: compression)
            for (pack, _) in oldPacks {
                for location in pack.index.allEntries where reachable.contains(location.id) {
                    try writer.addRaw(id: location.id, entry: try pack.rawEntry(location))
                }
            }
            report.repacked = writer.count
            let written = try writer.finish(into: packsDirectory, durable: true)
            for (pack, status) in oldPacks where pack.name != written?.name {
                // Re-check: a writer may have freshened the pack since we looked.
                guard let now = try? Sys.status(pack.packPath), now.modified < cutoff else { continue }
                let indexSize = (try? Sys.status(pack.indexPath))?.size ?? 0
                try? Sys.unlink(pack.indexPath)
                try? Sys.unlink(pack.packPath)
                report.removedPacks += 1
                report.bytesFreed += status.size + indexSize
            }
            try? Sys.fsyncDirectory(packsDirectory)
            packSet.refresh()
        }

        // Leftovers of interrupted writers: temp files, packs without an index.
        let tempCutoff = Sys.now() - max(grace, 3600)
        for name in try Sys.list(tempDirectory) where name.hasSuffix(".tmp") {
            let path = tempDirectory + "/" + name
            if let status = try? Sys.status(path), status.modified < tempCutoff, (try? Sys.unlink(path)) != nil {
                report.removedTemp += 1
                report.bytesFreed += status.size
            }
        }
        let packFiles = Set(try Sys.list(packsDirectory))
        for file in packFiles where file.hasSuffix(".pack") && !packFiles.contains(String(file.dropLast(5)) + ".idx") {
            let path = packsDirectory + "/" + file
            if let status = try? Sys.status(path), status.modified < tempCutoff, (try? Sys.unlink(path)) != nil {
                report.removedTemp += 1
                report.bytesFreed += status.size
            }
        }
        return report
    }
}

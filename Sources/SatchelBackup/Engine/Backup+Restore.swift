import SystemPackage
import SatchelManifest
import SatchelMessaging
import SatchelStore

extension Backup {
    /// What ``restore(_:bases:to:passphrase:progress:)`` rebuilt (`backup restore`'s JSON).
    public struct RestoreSummary: Sendable, Equatable {
        /// The restored store's root directory.
        public var store: String
        /// The restored store's new replica ID.
        public var replica: String
        /// The backed-up store's replica ID, now retired.
        public var retired: String
        /// Objects restored.
        public var objects: Int
        /// Refs restored.
        public var refs: Int
        /// Sync checkpoints that were dropped (their peers will do a full reconcile).
        public var droppedCheckpoints: Int
    }

    /// Ref prefix of sync checkpoints, which a restore drops.
    static let checkpointPrefix = "sync/peers/"

    /// Rebuilds the store of `path` (an archive; for an incremental, `bases` holds the rest of
    /// its chain, in any order) at `target`, which must be absent or an empty directory.
    ///
    /// Every object and ref comes back exactly, except:
    /// - `config.xml` gets a NEW replica ID and the old one is appended to `retiredReplicas`,
    ///   so no version-vector counter of the old replica can ever be issued twice;
    /// - the change log starts over with a new epoch, so peers holding a checkpoint of the
    ///   old log do a full reconcile;
    /// - sync checkpoints (`sync/peers/*`) are dropped: they describe exchanges of the old
    ///   replica, and without them every peer exchange starts with a full reconcile.
    ///
    /// The store is built in a temporary directory next to `target`, made durable, and renamed
    /// into place last: any failure (damaged archive, wrong passphrase, missing base) leaves
    /// nothing behind.
    @discardableResult
    public static func restore(_ path: String, bases: [String] = [], to target: String, passphrase: Passphrase?,
                               progress: (@Sendable (Progress) -> Void)? = nil) throws -> RestoreSummary {
        let target = target.count > 1 && target.hasSuffix("/") ? String(target.dropLast()) : target
        let targetEntry = try LocalFiles.entry(target)
        guard targetEntry == .absent || targetEntry == .emptyDirectory else {
            throw BackupError(.targetExists, "\(target) exists and is not an empty directory; restore needs an absent or empty directory")
        }
        let archive = try OpenedArchive.open(path, passphrase: passphrase)
        let chain = try Self.chain(archive, bases: try bases.map { try OpenedArchive.open($0, passphrase: passphrase) })
        let header = archive.header

        let parent = FilePath(target).removingLastComponent().string
        let parentDir = parent.isEmpty ? "." : parent
        guard try LocalFiles.entry(parentDir) != .absent else {
            throw BackupError(.notFound, "the parent directory of \(target) does not exist")
        }
        let temp = LocalFiles.uniquePath(in: parentDir, prefix: ".satchel-restore-")
        var published = false
        defer { if !published { try? LocalFiles.removeTree(temp) } }

        let store = try ObjectStore.create(at: temp)
        let batch = try store.batch()
        var objects = 0
        do {
            for member in chain {
                let reader = try member.packReader()
                while let entry = try reader.next() {
                    // Verified as it streams (one hash); a zlib entry is adopted as it came.
                    try batch.put(entryOf: reader, kind: entry.kind, length: entry.length)
                    objects += 1
                    if objects % 512 == 0 { progress?(Progress(phase: .restoring, objects: objects, bytes: 0)) }
                }
                try reader.finish()
                guard reader.count == member.header.objects else {
                    throw BackupError.damaged("archive \(member.header.archive) says \(member.header.objects) objects but holds \(reader.count)")
                }
            }
            try batch.commit(durable: true, layout: .pack)
        } catch let error as StoreError where error.isDamage {
            batch.abandon()
            throw BackupError.damaged("\(path): \(error.message)")
        } catch {
            batch.abandon()
            throw error
        }

        // Everything the snapshot reaches must be here (a broken chain is refused).
        do { _ = try reachable(from: header.refs.map(\.object), in: store, tolerateMissing: false) } catch let error as StoreError {
            throw BackupError.damaged("the archive chain is incomplete: a ref reaches a missing or damaged object (\(error.message))")
        }
        let configBytes: [UInt8]
        let oldConfig: StoreConfig
        do {
            configBytes = try store.read(header.config).bytes
            oldConfig = try StoreConfig.decode(configBytes, trust: .untrusted)
        } catch {
            throw BackupError.damaged("the archive's config.xml is missing or invalid: \(error)")
        }

        // Every ref must name the kind of manifest its namespace holds (a thread ref at a
        // directory manifest would make every view of that thread fail after the restore).
        for ref in header.refs where !ref.name.hasPrefix(checkpointPrefix) {
            if let problem = RefVocabularies.problem(ref: ref.name, id: ref.object, in: store) {
                throw BackupError.damaged("archive is inconsistent: \(problem)")
            }
        }

        progress?(Progress(phase: .refs, objects: objects, bytes: 0))
        var refs: [(name: RefName, id: ObjectID)] = []
        var dropped = 0
        for ref in header.refs {
            if ref.name.hasPrefix(checkpointPrefix) {
                dropped += 1
                continue
            }
            guard let name = try? RefName(ref.name) else { throw BackupError.damaged("archive names an invalid ref") }
            refs.append((name, ref.object))
        }
        try store.refs.populate(refs)
        _ = try store.refs.changeLog.epoch()  // a new log (new epoch) even with no refs

        var config = oldConfig
        config.replica = Identifier.replica()
        config.retiredReplicas.append(oldConfig.replica)
        try store.writeRootFile(Repository.configFile, try config.encoded())
        try Durability.syncFileSystem(temp)

        // rename(2) replaces an empty directory and refuses one that is no longer empty.
        do { try Durability.rename(temp, to: target) } catch {
            throw BackupError(.targetExists, "cannot move the restored store into place at \(target): \(error)")
        }
        published = true
        try Durability.syncDirectory(parentDir)
        return RestoreSummary(store: target, replica: config.replica, retired: oldConfig.replica, objects: objects,
                              refs: refs.count, droppedCheckpoints: dropped)
    }
}

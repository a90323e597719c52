import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore

/// Backup archives of a Satchel store: create (full or incremental, optionally encrypted),
/// verify, restore (under a new replica ID). docs/FORMAT.md, "Backup archives" defines the file.
public enum Backup {
    /// What ``create(_:to:options:)`` does beyond a plain full backup.
    public struct Options: Sendable {
        /// Encrypt with a key derived from this passphrase (scrypt → AES-256-GCM).
        public var passphrase: Passphrase?
        /// Make an incremental archive on top of this archive (full or incremental) of the same
        /// store: only objects not reachable from its ref snapshot are stored.
        public var incrementalFrom: String?
        /// scrypt cost of the key derivation (``ScryptParameters/standard``; tests use `.fast`).
        public var scrypt: ScryptParameters = .standard
        /// Plaintext bytes per encrypted chunk.
        public var chunkSize: Int = ArchiveFormat.defaultChunkSize
        /// Called now and then with (objects copied, bytes written so far).
        public var progress: (@Sendable (Progress) -> Void)?

        /// Options for a full (or, with `incrementalFrom`, incremental) archive, encrypted when
        /// `passphrase` is given.
        public init(passphrase: Passphrase? = nil, incrementalFrom: String? = nil) {
            self.passphrase = passphrase
            self.incrementalFrom = incrementalFrom
        }
    }

    /// Where a create or restore is, reported now and then to a progress handler.
    public struct Progress: Sendable {
        /// The step under way: taking the ref snapshot, copying objects and writing the archive
        /// (create); restoring objects, then refs (restore).
        public enum Phase: Sendable { case snapshot, objects, writing, restoring, refs }
        /// The step under way.
        public var phase: Phase
        /// Objects copied so far.
        public var objects: Int
        /// Bytes written so far.
        public var bytes: UInt64
    }

    /// What ``create(_:to:options:)`` wrote (`backup create`'s JSON).
    public struct Summary: Sendable, Equatable {
        /// The archive's ID (`b…`).
        public var archive: String
        /// The archive file.
        public var path: String
        /// Objects stored in this archive (for an incremental, only those its base's ref snapshot
        /// does not reach).
        public var objects: Int
        /// Refs in the archive's snapshot.
        public var refs: Int
        /// Size of the archive file in bytes.
        public var bytes: UInt64
        /// ID of the base archive for an incremental.
        public var base: String?
        /// Whether the archive is encrypted.
        public var encrypted: Bool
        /// Whether the archive is incremental (it has a base).
        public var incremental: Bool { base != nil }
    }

    static func archiveID() -> String { "b" + Hex.encode(Hex.random(10)) }

    /// Takes a consistent snapshot of the live store and writes it to `path` (which must not
    /// exist). Writers are never blocked: the refs are read by double collect (see
    /// ``RefSnapshot``), and the objects they reach are immutable (gc's grace period keeps
    /// them for the duration).
    @discardableResult
    public static func create(_ repository: Repository, to path: String, options: Options = Options()) throws -> Summary {
        let store = repository.store
        guard try LocalFiles.entry(path) == .absent else {
            throw BackupError(.targetExists, "\(path) already exists; an archive is never overwritten")
        }
        let configPath = store.root + "/" + Repository.configFile
        let configBytes: [UInt8]
        do { configBytes = try InputFile.read(configPath, limit: Repository.configLimit) } catch let error as StoreError {
            throw BackupError(error.code == .notFound ? .notFound : .damaged, "cannot read \(Repository.configFile): \(error.message)")
        }
        // The config's replica must be the one in force (config.xml is replaced atomically).
        let config = try StoreConfig.decode(configBytes, trust: .trusted)

        // Base archive: only its header is needed (its ref snapshot defines what it holds).
        var baseSet = Set<ObjectID>()
        var baseID: String?
        if let basePath = options.incrementalFrom {
            let base = try OpenedArchive.open(basePath, passphrase: options.passphrase)
            guard base.header.source == config.replica else {
                throw BackupError(.usage, "base archive \(basePath) is of replica \(base.header.source), not of this store (\(config.replica))")
            }
            baseID = base.header.archive
            baseSet = try reachable(from: base.header.refs.map(\.object), in: store, tolerateMissing: true)
            baseSet.insert(base.header.config)
        }

        options.progress?(Progress(phase: .snapshot, objects: 0, bytes: 0))
        let refs = try RefSnapshot.take(store)

        let pack = try store.detachedPack()
        var sealed = false
        defer { if !sealed { pack.abandon() } }
        var objects = 0
        let configID = ObjectID.compute(kind: .blob, payload: configBytes)
        if !baseSet.contains(configID) {
            try pack.put(.blob, configBytes)
            objects += 1
        }
        // Everything the refs reach that the base does not hold. Packed objects are copied as
        // raw entries; manifests were read (verified) by the walk for the objects they mention.
        try store.walk(from: refs.map(\.id), skipping: baseSet) { id, kind, length, manifest in
            if try pack.copyPacked(id, from: store) == nil {
                if let manifest {
                    try pack.put(.manifest, manifest)
                } else {
                    try pack.copyBlob(id, length: length, from: store)
                }
            }
            objects += 1
            if objects % 512 == 0 { options.progress?(Progress(phase: .objects, objects: objects, bytes: 0)) }
        }
        let (packPath, _, _) = try pack.sealDetached()
        sealed = true
        defer { try? LocalFiles.remove(packPath) }

        var encryption: BackupHeader.Encryption?
        var keys: ArchiveKeys?
        if let passphrase = options.passphrase {
            let salt = Hex.random(16)
            let k = try ArchiveKeys(passphrase: passphrase, salt: salt, parameters: options.scrypt)
            keys = k
            encryption = .init(n: options.scrypt.n, r: options.scrypt.r, p: options.scrypt.p, salt: Hex.encode(salt),
                               chunkSize: UInt64(options.chunkSize), keyCheck: k.keyCheck)
        }
        let header = BackupHeader(
            archive: archiveID(), base: baseID, config: configID, created: .now(), objects: UInt64(objects),
            role: config.role, source: config.replica, storeFormat: UInt64(config.formatVersion), encryption: encryption,
            refs: refs.map { .init(name: $0.name.rawValue, object: $0.id) })
        let progress = options.progress
        let bytes = try ArchiveWriter.write(header: header, packPath: packPath, keys: keys, chunkSize: options.chunkSize,
                                            to: path) { written in
            progress?(Progress(phase: .writing, objects: objects, bytes: written))
        }
        return Summary(archive: header.archive, path: path, objects: objects, refs: refs.count, bytes: bytes, base: baseID,
                       encrypted: keys != nil)
    }

    /// Every object reachable from `roots` through manifest mentions. With `tolerateMissing`,
    /// objects the store no longer has are skipped (a base archive's objects that gc removed
    /// since are not reachable from the current refs either).
    static func reachable(from roots: [ObjectID], in store: ObjectStore, tolerateMissing: Bool) throws -> Set<ObjectID> {
        try store.walk(from: roots, missing: tolerateMissing ? .skip : .fail)
    }

}

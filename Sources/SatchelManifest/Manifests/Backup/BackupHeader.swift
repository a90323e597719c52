import SatchelStore

/// The header of a backup archive (vocabulary `urn:satchel:backup:1`): which store it came
/// from, when, on top of which archive (incrementals), the snapshot of every ref, the ID of
/// the store's `config.xml` (stored as a blob in the archive's pack) and, for encrypted
/// archives, the key-derivation and cipher parameters. The objects follow it as a pack
/// (docs/FORMAT.md, "Backup archives").
///
/// The header carries no message content: ref names are random identifiers and the objects
/// they name are manifests whose content (random IDs, timestamps) cannot be guessed.
///
/// ```xml
/// <backup xmlns="urn:satchel:backup:1" archive="b…" base="b…" config="sha256:…"
///         created="…" objects="12" role="workstation" source="r…" storeFormat="1">
///   <encryption chunkSize="1048576" cipher="aes-256-gcm" kdf="scrypt" keyCheck="…" n="32768"
///               p="1" r="8" salt="…"/>
///   <ref name="threads/T-1" object="sha256:…"/>
/// </backup>
/// ```
public struct BackupHeader: Manifest, Hashable {
    public static let vocabulary = Vocabulary.backup

    /// scrypt and AES-256-GCM parameters of an encrypted archive.
    public struct Encryption: Sendable, Hashable {
        /// scrypt cost N (a power of two).
        public var n: UInt64
        /// scrypt block size r.
        public var r: UInt64
        /// scrypt parallelism p.
        public var p: UInt64
        /// scrypt salt, lowercase hex (16 random bytes).
        public var salt: String
        /// Plaintext bytes per AES-GCM chunk (the last chunk may be shorter).
        public var chunkSize: UInt64
        /// HMAC-SHA256 of a fixed label under the derived MAC key, lowercase hex: tells a wrong
        /// passphrase apart from a tampered header.
        public var keyCheck: String

        /// Encryption parameters.
        public init(n: UInt64, r: UInt64, p: UInt64, salt: String, chunkSize: UInt64, keyCheck: String) {
            self.n = n
            self.r = r
            self.p = p
            self.salt = salt
            self.chunkSize = chunkSize
            self.keyCheck = keyCheck
        }
    }

    /// One ref of the snapshot.
    public struct Ref: Sendable, Hashable {
        /// The ref name.
        public var name: String
        /// The object it pointed at.
        public var object: ObjectID
        /// A ref of the snapshot.
        public init(name: String, object: ObjectID) {
            self.name = name
            self.object = object
        }
    }

    /// This archive's ID (random, `b` + 20 hex digits).
    public var archive: String
    /// The archive this one is incremental on, if any.
    public var base: String?
    /// Blob holding the source store's `config.xml`.
    public var config: ObjectID
    /// When the snapshot was taken.
    public var created: Timestamp
    /// Objects in this archive's pack.
    public var objects: UInt64
    /// Role of the source store.
    public var role: StoreConfig.Role
    /// Replica ID of the source store.
    public var source: String
    /// On-disk format version of the source store.
    public var storeFormat: UInt64
    /// Present when the archive is encrypted.
    public var encryption: Encryption?
    /// Every ref of the source store at the snapshot, sorted by name.
    public var refs: [Ref]

    /// A header.
    public init(archive: String, base: String?, config: ObjectID, created: Timestamp, objects: UInt64,
                role: StoreConfig.Role, source: String, storeFormat: UInt64 = 1, encryption: Encryption?, refs: [Ref]) {
        self.archive = archive
        self.base = base
        self.config = config
        self.created = created
        self.objects = objects
        self.role = role
        self.source = source
        self.storeFormat = storeFormat
        self.encryption = encryption
        self.refs = refs.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    public func encode(to w: CanonicalWriter) throws {
        try w.start("backup", [
            ("archive", archive), ("base", base), ("config", config.description), ("created", created.description),
            ("objects", String(objects)), ("role", role.rawValue), ("source", source), ("storeFormat", String(storeFormat)),
        ])
        if let e = encryption {
            try w.empty("encryption", [
                ("chunkSize", String(e.chunkSize)), ("cipher", "aes-256-gcm"), ("kdf", "scrypt"), ("keyCheck", e.keyCheck),
                ("n", String(e.n)), ("p", String(e.p)), ("r", String(e.r)), ("salt", e.salt),
            ])
        }
        for ref in refs { try w.empty("ref", [("name", ref.name), ("object", ref.object.description)]) }
        try w.end()
    }

    public init(element: ManifestElement) throws(ManifestError) {
        let ns = Self.vocabulary.namespace
        var r = try ElementReader(element, name: "backup", namespace: ns)
        archive = try r.string("archive")
        base = r.optionalString("base")
        config = try r.objectID("config")
        created = try r.timestamp("created")
        objects = try r.uint64("objects")
        role = try r.value("role")
        source = try r.string("source")
        storeFormat = try r.uint64("storeFormat", minimum: 1)
        try r.finish()
        encryption = nil
        refs = []
        for child in try r.children(namespace: ns) {
            switch child.name {
            case "encryption":
                guard encryption == nil, refs.isEmpty else { throw child.duplicateChild() }
                var c = try ElementReader(child, name: "encryption", namespace: ns)
                let chunkSize = try c.uint64("chunkSize", minimum: 1)
                guard try c.string("cipher") == "aes-256-gcm" else { throw child.error(.invalidValue, "cipher must be aes-256-gcm") }
                guard try c.string("kdf") == "scrypt" else { throw child.error(.invalidValue, "kdf must be scrypt") }
                let keyCheck = try c.string("keyCheck")
                let n = try c.uint64("n", minimum: 2), p = try c.uint64("p", minimum: 1), rr = try c.uint64("r", minimum: 1)
                let salt = try c.string("salt")
                try c.finish()
                encryption = Encryption(n: n, r: rr, p: p, salt: salt, chunkSize: chunkSize, keyCheck: keyCheck)
            case "ref":
                var c = try ElementReader(child, name: "ref", namespace: ns)
                let name = try c.string("name"), object = try c.objectID("object")
                try c.finish()
                refs.append(Ref(name: name, object: object))
            default:
                throw child.unexpectedChild()
            }
        }
        guard zip(refs, refs.dropFirst()).allSatisfy({ $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }) else {
            throw element.error(.invalidValue, "refs must be sorted by name with no duplicates")
        }
    }
}

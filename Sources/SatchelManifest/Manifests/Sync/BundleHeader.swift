import SatchelStore

/// The header of a sync bundle (vocabulary `urn:satchel:bundle:1`): who made it, for whom,
/// which part of the source's change log it carries, what the receiver must understand, and the
/// heads it moves. The objects follow it as a pack (docs/FORMAT.md, "Bundles").
///
/// ```xml
/// <bundle xmlns="urn:satchel:bundle:1" created="…" epoch="e1" full="false" objects="12"
///         since="40" source="r1" sourceRole="workstation" target="r2" upTo="42">
///   <capability name="threads-1"/>
///   <ack epoch="e9" sequence="17"/>
///   <head object="sha256:…" ref="threads/T-1"><version><counter replica="r1" value="3"/></version></head>
/// </bundle>
/// ```
public struct BundleHeader: Manifest, Hashable {
    public static let vocabulary = Vocabulary.bundle

    /// One ref the bundle moves, and the object it should point at.
    public struct Head: Sendable, Hashable {
        /// The ref name (`threads/<id>`, `drafts/<id>`, …).
        public var ref: String
        /// The head object, carried in the bundle's pack unless the target holds it.
        public var object: ObjectID
        /// The head's version vector (threads and drafts), for reading without the objects.
        public var version: VersionVector
        /// A head.
        public init(ref: String, object: ObjectID, version: VersionVector = VersionVector()) {
            self.ref = ref
            self.object = object
            self.version = version
        }
    }

    /// How far a replica has applied another's change log.
    public struct Position: Sendable, Hashable {
        /// The change log's epoch (a restore starts a new one).
        public var epoch: String
        /// The last record applied, by sequence number.
        public var sequence: UInt64
        /// A position.
        public init(epoch: String, sequence: UInt64) {
            self.epoch = epoch
            self.sequence = sequence
        }
    }

    /// Replica ID of the store that made the bundle.
    public var source: String
    /// Role of the source store.
    public var sourceRole: StoreConfig.Role
    /// Replica ID of the store the bundle is for; any other refuses it.
    public var target: String
    /// Epoch of the source's change log.
    public var epoch: String
    /// The bundle carries the source's changes after `since` up to `upTo`.
    public var since: UInt64
    /// The last change-log sequence number the bundle covers.
    public var upTo: UInt64
    /// True when the bundle carries the source's whole state (no prerequisites).
    public var full: Bool
    /// When the bundle was made.
    public var created: Timestamp
    /// What a reader must understand (`threads-2`, `envelopes-1`, `drafts-1`, …); a reader refuses
    /// a bundle naming any capability it lacks.
    public var capabilities: [String]
    /// How far the source has applied the target's change log.
    public var ack: Position?
    /// The refs the bundle moves, sorted by ref.
    public var heads: [Head]
    /// Number of entries in the bundle's pack.
    public var objects: UInt64

    /// A header; `heads` are sorted by ref.
    public init(source: String, sourceRole: StoreConfig.Role, target: String, epoch: String, since: UInt64,
                upTo: UInt64, full: Bool, created: Timestamp, capabilities: [String], ack: Position?,
                heads: [Head], objects: UInt64) {
        self.source = source
        self.sourceRole = sourceRole
        self.target = target
        self.epoch = epoch
        self.since = since
        self.upTo = upTo
        self.full = full
        self.created = created
        self.capabilities = capabilities
        self.ack = ack
        self.heads = heads.sorted { $0.ref.utf8.lexicographicallyPrecedes($1.ref.utf8) }
        self.objects = objects
    }

    public func encode(to w: CanonicalWriter) throws {
        try w.start("bundle", [
            ("created", created.description), ("epoch", epoch), ("full", String(full)), ("objects", String(objects)),
            ("since", String(since)), ("source", source), ("sourceRole", sourceRole.rawValue), ("target", target),
            ("upTo", String(upTo)),
        ])
        for name in capabilities { try w.empty("capability", [("name", name)]) }
        if let ack { try w.empty("ack", [("epoch", ack.epoch), ("sequence", String(ack.sequence))]) }
        for head in heads {
            try w.start("head", [("object", head.object.description), ("ref", head.ref)])
            try head.version.encode(to: w)
            try w.end()
        }
        try w.end()
    }

    public init(element: ManifestElement) throws(ManifestError) {
        let ns = Self.vocabulary.namespace
        var r = try ElementReader(element, name: "bundle", namespace: ns)
        created = try r.timestamp("created")
        epoch = try r.string("epoch")
        full = try r.bool("full")
        objects = try r.uint64("objects")
        since = try r.uint64("since")
        source = try r.string("source")
        sourceRole = try r.value("sourceRole")
        target = try r.string("target")
        upTo = try r.uint64("upTo")
        try r.finish()
        capabilities = []
        ack = nil
        heads = []
        for child in try r.children(namespace: ns) {
            switch child.name {
            case "capability":
                capabilities.append(try MessageManifest.single(child, "name", ns))
            case "ack":
                guard ack == nil else { throw child.duplicateChild() }
                var c = try ElementReader(child, name: "ack", namespace: ns)
                ack = Position(epoch: try c.string("epoch"), sequence: try c.uint64("sequence"))
                try c.finish()
            case "head":
                var c = try ElementReader(child, name: "head", namespace: ns)
                let object = try c.objectID("object"), ref = try c.string("ref")
                try c.finish()
                guard child.children.count == 1, let v = child.children.first else {
                    throw child.error(.missing, "<head> needs exactly one <version>")
                }
                heads.append(Head(ref: ref, object: object, version: try VersionVector(element: v, namespace: ns)))
            default:
                throw child.unexpectedChild()
            }
        }
        guard zip(heads, heads.dropFirst()).allSatisfy({ $0.ref.utf8.lexicographicallyPrecedes($1.ref.utf8) }) else {
            throw element.error(.invalidValue, "heads must be sorted by ref with no duplicates")
        }
    }
}

/// What a store knows about one peer (vocabulary `urn:satchel:checkpoint:1`), kept at ref
/// `sync/peers/<replica>`: how far it has applied the peer's change log, and how far the peer has
/// applied its own (learned from the peer's acks). Moves only after a durable apply.
public struct PeerCheckpoint: Manifest, Hashable {
    public static let vocabulary = Vocabulary.checkpoint

    /// The peer's replica ID.
    public var peer: String
    /// The peer's role, once known.
    public var peerRole: StoreConfig.Role?
    /// How far this store has applied the peer's change log.
    public var received: BundleHeader.Position?
    /// How far the peer has applied this store's change log (from its acks).
    public var delivered: BundleHeader.Position?
    /// When the checkpoint last moved.
    public var updated: Timestamp

    /// A checkpoint.
    public init(peer: String, peerRole: StoreConfig.Role?, received: BundleHeader.Position?,
                delivered: BundleHeader.Position?, updated: Timestamp) {
        self.peer = peer
        self.peerRole = peerRole
        self.received = received
        self.delivered = delivered
        self.updated = updated
    }

    public func encode(to w: CanonicalWriter) throws {
        try w.start("checkpoint", [("peer", peer), ("peerRole", peerRole?.rawValue), ("updated", updated.description)])
        if let delivered { try w.empty("delivered", [("epoch", delivered.epoch), ("sequence", String(delivered.sequence))]) }
        if let received { try w.empty("received", [("epoch", received.epoch), ("sequence", String(received.sequence))]) }
        try w.end()
    }

    public init(element: ManifestElement) throws(ManifestError) {
        let ns = Self.vocabulary.namespace
        var r = try ElementReader(element, name: "checkpoint", namespace: ns)
        peer = try r.string("peer")
        peerRole = try r.optionalString("peerRole").map { (text: String) throws(ManifestError) -> StoreConfig.Role in
            guard let role = StoreConfig.Role(rawValue: text) else { throw element.error(.invalidValue, "unknown peerRole") }
            return role
        }
        updated = try r.timestamp("updated")
        try r.finish()
        received = nil
        delivered = nil
        for child in try r.children(namespace: ns) {
            var c = try ElementReader(child, name: child.name, namespace: ns)
            let position = BundleHeader.Position(epoch: try c.string("epoch"), sequence: try c.uint64("sequence"))
            try c.finish()
            switch child.name {
            case "received": received = position
            case "delivered": delivered = position
            default: throw child.unexpectedChild()
            }
        }
    }
}

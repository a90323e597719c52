/// The configuration of one store (`config.xml`, vocabulary `urn:satchel:store:1`).
///
/// ```xml
/// <store xmlns="urn:satchel:store:1" created="2026-05-01T09:30:00Z" formatVersion="1"
///        hashAlgorithm="sha256" name="Front desk" replica="ws-7f3a" role="workstation">
///   <retiredReplica id="ws-1c2d"/>
/// </store>
/// ```
public struct StoreConfig: Manifest, Hashable {
    /// What a store is for; fixed at `init`.
    public enum Role: String, Sendable, CaseIterable {
        /// Staff store: compose, drafts, Staff Bcc, offline work.
        case workstation
        /// Patient-facing store: no staff-only data.
        case portal
    }

    public static let vocabulary = Vocabulary.store

    /// On-disk format version of the store.
    public var formatVersion: Int
    /// Hash algorithm of object IDs (`sha256`).
    public var hashAlgorithm: String
    /// This store's replica ID; never reused.
    public var replica: String
    /// Workstation or portal.
    public var role: Role
    /// Optional human label.
    public var name: String?
    /// When the store was created.
    public var created: Timestamp
    /// Base URL of the patient portal, used for links in notifications (portal stores).
    public var portalURL: String?
    /// Replica IDs this store had before (a restore mints a new one), oldest first.
    public var retiredReplicas: [String]

    /// A configuration.
    public init(formatVersion: Int = 1, hashAlgorithm: String = "sha256", replica: String, role: Role,
                name: String? = nil, created: Timestamp, portalURL: String? = nil, retiredReplicas: [String] = []) {
        self.formatVersion = formatVersion
        self.hashAlgorithm = hashAlgorithm
        self.replica = replica
        self.role = role
        self.name = name
        self.created = created
        self.portalURL = portalURL
        self.retiredReplicas = retiredReplicas
    }

    public func encode(to w: CanonicalWriter) throws {
        try w.start("store", [
            ("created", created.description), ("formatVersion", String(formatVersion)),
            ("hashAlgorithm", hashAlgorithm), ("name", name), ("portalURL", portalURL), ("replica", replica),
            ("role", role.rawValue),
        ])
        for id in retiredReplicas { try w.empty("retiredReplica", [("id", id)]) }
        try w.end()
    }

    public init(element: ManifestElement) throws(ManifestError) {
        let ns = Self.vocabulary.namespace
        var r = try ElementReader(element, name: "store", namespace: ns)
        let version = try r.uint64("formatVersion", minimum: 1)
        guard version <= UInt64(Int.max) else { throw r.error(.invalidValue, "formatVersion is too large") }
        formatVersion = Int(version)
        hashAlgorithm = try r.string("hashAlgorithm")
        replica = try r.string("replica")
        role = try r.value("role")
        name = r.optionalString("name")
        portalURL = r.optionalString("portalURL")
        created = try r.timestamp("created")
        try r.finish()
        retiredReplicas = []
        for child in try r.children(namespace: ns) {
            guard child.name == "retiredReplica" else { throw child.unexpectedChild() }
            var c = try ElementReader(child, name: "retiredReplica", namespace: ns)
            retiredReplicas.append(try c.string("id"))
            try c.finish()
        }
    }
}

/// One replica's HTTP sync token on a portal store (vocabulary `urn:satchel:token:1`), kept at ref
/// `tokens/<name>`. Only a salted hash of the token is stored: `hash` = SHA-256 of the 16 `salt`
/// bytes followed by the token's UTF-8 bytes, both in lowercase hex.
///
/// ```xml
/// <token xmlns="urn:satchel:token:1" algorithm="sha256-salted" created="2026-05-01T09:30:00Z"
///        hash="…64 hex…" name="front-desk-laptop" replica="r…" revoked="2026-06-01T08:00:00Z" salt="…32 hex…"/>
/// ```
///
/// `replica` is the workstation replica the token was first used by (bound on first sync);
/// `revoked` marks a token that no longer authenticates. A revoked token is kept, so its name is
/// not reused by accident and `replica list` shows when it was revoked.
public struct ReplicaToken: Manifest, Hashable {
    public static let vocabulary = Vocabulary.token

    /// How the stored hash is computed.
    public enum Algorithm: String, Sendable {
        /// SHA-256 over salt bytes followed by the token's UTF-8 bytes.
        case sha256Salted = "sha256-salted"
    }

    /// Label of the workstation or replica (e.g. `front-desk-laptop`).
    public var name: String
    /// How ``hash`` is computed.
    public var algorithm: Algorithm
    /// 16 random bytes, lowercase hex.
    public var salt: String
    /// 32 bytes, lowercase hex.
    public var hash: String
    /// When the token was registered.
    public var created: Timestamp
    /// The replica ID the token is bound to after its first sync.
    public var replica: String?
    /// When the token was revoked; nil while it is active.
    public var revoked: Timestamp?

    /// A token record.
    public init(name: String, algorithm: Algorithm = .sha256Salted, salt: String, hash: String, created: Timestamp,
                replica: String? = nil, revoked: Timestamp? = nil) {
        self.name = name
        self.algorithm = algorithm
        self.salt = salt
        self.hash = hash
        self.created = created
        self.replica = replica
        self.revoked = revoked
    }

    public func encode(to w: CanonicalWriter) throws {
        try w.empty("token", [
            ("algorithm", algorithm.rawValue), ("created", created.description), ("hash", hash), ("name", name),
            ("replica", replica), ("revoked", revoked?.description), ("salt", salt),
        ])
    }

    public init(element: ManifestElement) throws(ManifestError) {
        var r = try ElementReader(element, name: "token", namespace: Self.vocabulary.namespace)
        algorithm = try r.value("algorithm")
        created = try r.timestamp("created")
        hash = try r.string("hash")
        name = try r.string("name")
        replica = r.optionalString("replica")
        if let text = r.optionalString("revoked") {
            guard let value = Timestamp(text) else {
                throw r.error(.invalidValue, "attribute revoked of <token> is not an ISO 8601 UTC timestamp")
            }
            revoked = value
        } else {
            revoked = nil
        }
        salt = try r.string("salt")
        try r.finish()
        guard Self.isHex(hash, bytes: 32) else { throw r.error(.invalidValue, "attribute hash of <token> must be 64 lowercase hex digits") }
        guard Self.isHex(salt, bytes: 16) else { throw r.error(.invalidValue, "attribute salt of <token> must be 32 lowercase hex digits") }
    }

    static func isHex(_ text: String, bytes: Int) -> Bool {
        text.utf8.count == bytes * 2 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

import SatchelManifest
import SatchelStore

/// What a draft ref points at, read as its versions: one ``DraftManifest`` (the usual case) or a
/// ``DraftSet`` of concurrent versions ("siblings") that sync kept because no person has chosen
/// between them yet. Siblings may be live drafts or tombstones (sent, discarded).
public struct DraftHead: Sendable, Equatable {
    /// One version: its object and manifest.
    public struct Sibling: Sendable, Hashable {
        /// The version's object.
        public var object: ObjectID
        /// The version's manifest.
        public var draft: DraftManifest

        /// A version from its object and manifest.
        public init(object: ObjectID, draft: DraftManifest) {
            self.object = object
            self.draft = draft
        }
    }

    /// The object the ref points at (a draft or a draft set).
    public var object: ObjectID
    /// Every version, sorted by object ID.
    public var siblings: [Sibling]

    /// A head from its object and versions; the versions are sorted by object ID.
    public init(object: ObjectID, siblings: [Sibling]) {
        self.object = object
        self.siblings = siblings.sorted { $0.object < $1.object }
    }

    /// Reads the head at `object`; `load` decodes an object (from the store, or from a bundle
    /// being applied). Refuses a head that is neither a draft nor a set of versions of `id`.
    public static func read(_ object: ObjectID, id: String?, load: (ObjectID) throws -> AnyManifest) throws -> DraftHead {
        func version(_ object: ObjectID) throws -> Sibling {
            guard case .draft(let draft) = try load(object), id == nil || draft.id == id else {
                throw MessagingError(.invalidInput, "object \(object.short) is not a version of draft \(id ?? "?")")
            }
            return Sibling(object: object, draft: draft)
        }
        switch try load(object) {
        case .draft:
            return DraftHead(object: object, siblings: [try version(object)])
        case .draftSet(let set):
            guard id == nil || set.id == id else {
                throw MessagingError(.invalidInput, "object \(object.short) is not a version set of draft \(id ?? "?")")
            }
            let siblings = try set.versions.map { try version($0) }
            guard Set(siblings.map(\.draft.id)).count == 1 else {
                throw MessagingError(.invalidInput, "draft set \(object.short) mixes versions of different drafts")
            }
            return DraftHead(object: object, siblings: siblings)
        default:
            throw MessagingError(.invalidInput, "object \(object.short) is neither a draft nor a draft set")
        }
    }

    /// The draft ID.
    public var id: String { siblings[0].draft.id }

    /// Versions that are still drafts (not sent or discarded).
    public var live: [Sibling] { siblings.filter { !$0.draft.isTombstone } }

    /// True if some version is still a draft: a live edit concurrent with a send or discard
    /// survives the send.
    public var isLive: Bool { siblings.contains { !$0.draft.isTombstone } }

    /// The version shown and edited: the most recently updated live version (ties: the greater
    /// object ID). nil when every version is a tombstone.
    public var current: Sibling? {
        live.max { ($0.draft.updated, $0.object) < ($1.draft.updated, $1.object) }
    }

    /// The join (pointwise maximum) of every version's vector: a new local edit starts from it
    /// plus one, and so dominates every sibling.
    public var version: VersionVector {
        var joined = VersionVector()
        for sibling in siblings {
            for (replica, counter) in sibling.draft.version.counters where counter > joined[replica] {
                joined[replica] = counter
            }
        }
        return joined
    }

    /// The version vector of the next local edit on `replica`: the join plus one for `replica`.
    public func nextVersion(for replica: String) -> VersionVector {
        var next = version
        next[replica] += 1
        return next
    }
}

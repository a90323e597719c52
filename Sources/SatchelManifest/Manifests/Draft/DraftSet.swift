import SatchelStore

/// The concurrent versions ("siblings") of one draft (vocabulary `urn:satchel:draftset:1`):
/// staff-only, like drafts. A draft ref points at a plain ``DraftManifest`` while the draft has one
/// version, and at a draft set while it has two or more that no person has reconciled yet.
///
/// Each sibling is a ``DraftManifest`` object (live, or a tombstone) carrying its own version
/// vector; the set names them by object ID, sorted and without duplicates, so equal sets have
/// equal bytes.
///
/// ```xml
/// <draftSet xmlns="urn:satchel:draftset:1" id="d1">
///   <version object="sha256:0a…"/><version object="sha256:9f…"/>
/// </draftSet>
/// ```
public struct DraftSet: Manifest, Hashable {
    public static let vocabulary = Vocabulary.draftSet

    /// The draft ID (every sibling has it).
    public var id: String
    /// Sibling draft objects, sorted by object ID, unique; at least two.
    public private(set) var versions: [ObjectID]

    /// Sorts and deduplicates `versions`. A set of fewer than two is not written: a single
    /// version is stored as the plain draft.
    public init(id: String, versions: some Sequence<ObjectID>) {
        self.id = id
        self.versions = Array(Set(versions)).sorted()
    }

    /// Children in order: `version`+ (sorted by object ID).
    public func encode(to w: CanonicalWriter) throws {
        guard versions.count >= 2 else {
            throw ManifestError(.invalidValue, "a draft set needs at least two versions (draft \(id))")
        }
        try w.start("draftSet", [("id", id)])
        for v in versions { try w.empty("version", [("object", v.description)]) }
        try w.end()
    }

    public init(element: ManifestElement) throws(ManifestError) {
        let ns = Self.vocabulary.namespace
        var r = try ElementReader(element, name: "draftSet", namespace: ns)
        id = try r.string("id")
        try r.finish()
        var seen = Set<ObjectID>()
        for child in try r.children(namespace: ns) {
            guard child.name == "version" else { throw child.unexpectedChild() }
            if let extra = child.children.first { throw extra.unexpectedChild() }
            var c = try ElementReader(child, name: "version", namespace: ns)
            let object = try c.objectID("object")
            try c.finish()
            guard seen.insert(object).inserted else {
                throw child.error(.duplicate, "version \(object.short) appears more than once")
            }
        }
        guard seen.count >= 2 else {
            throw element.error(.missing, "<draftSet> needs at least two <version> children")
        }
        versions = seen.sorted()
    }
}

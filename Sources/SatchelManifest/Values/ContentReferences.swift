import SatchelStore

/// A message body stored as a blob: its object ID, format and length in bytes.
/// Written `<body format="plain|rich" length="N" object="sha256:…"/>`.
public struct BodyReference: Sendable, Hashable {
    /// How the body's bytes are to be read.
    public enum Format: String, Sendable, CaseIterable {
        /// Plain text.
        case plain
        /// The sanitized rich-text subset (bold, italic, strikethrough, tables, alignment, links).
        case rich
    }

    /// The body blob.
    public var object: ObjectID
    /// Plain text or sanitized rich text.
    public var format: Format
    /// Length of the body blob in bytes.
    public var length: UInt64

    /// A body reference.
    public init(object: ObjectID, format: Format, length: UInt64) {
        self.object = object
        self.format = format
        self.length = length
    }

    func encode(to w: CanonicalWriter) throws {
        try w.empty("body", [("format", format.rawValue), ("length", String(length)),
                             ("object", object.description)])
    }

    init(element: ManifestElement, namespace: String) throws(ManifestError) {
        var r = try ElementReader(element, name: "body", namespace: namespace)
        format = try r.value("format")
        length = try r.uint64("length")
        object = try r.objectID("object")
        try r.finish()
        if let child = element.children.first { throw child.unexpectedChild() }
    }
}

/// An attachment: file name, media type, size in bytes, the SHA-256 of the file's bytes (what
/// `sha256sum` prints, for people checking a download) and the blob holding it (whose object ID
/// also covers the object header). Written
/// `<attachment mediaType="…" name="…" object="sha256:…" sha256="<64 hex>" size="N"/>`.
public struct AttachmentReference: Sendable, Hashable {
    /// File name, as shown to people (checked by the messaging layer's attachment-name rules).
    public var name: String
    /// Media type (e.g. `application/pdf`).
    public var mediaType: String
    /// Size of the file in bytes.
    public var size: UInt64
    /// The blob holding the file.
    public var object: ObjectID
    /// 64 lowercase hex digits: SHA-256 of the attachment's content alone.
    public var sha256: String

    /// An attachment reference.
    public init(name: String, mediaType: String, size: UInt64, object: ObjectID, sha256: String) {
        self.name = name
        self.mediaType = mediaType
        self.size = size
        self.object = object
        self.sha256 = sha256
    }

    func encode(to w: CanonicalWriter) throws {
        try w.empty("attachment", [("mediaType", mediaType), ("name", name),
                                   ("object", object.description), ("sha256", sha256), ("size", String(size))])
    }

    init(element: ManifestElement, namespace: String) throws(ManifestError) {
        var r = try ElementReader(element, name: "attachment", namespace: namespace)
        mediaType = try r.string("mediaType")
        name = try r.string("name")
        object = try r.objectID("object")
        sha256 = try r.string("sha256")
        size = try r.uint64("size")
        try r.finish()
        guard sha256.utf8.count == 64, sha256.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw element.error(.invalidValue, "attachment sha256 must be 64 lowercase hex digits")
        }
        if let child = element.children.first { throw child.unexpectedChild() }
    }
}

extension VersionVector {
    /// `<version><counter replica="R" value="N"/>…</version>`, sorted by replica.
    func encode(to w: CanonicalWriter) throws {
        try w.start("version")
        for entry in sortedEntries {
            try w.empty("counter", [("replica", entry.replica), ("value", String(entry.counter))])
        }
        try w.end()
    }

    init(element: ManifestElement, namespace: String) throws(ManifestError) {
        let r = try ElementReader(element, name: "version", namespace: namespace)
        try r.finish()
        var counters: [String: UInt64] = [:]
        for child in try r.children(namespace: namespace) {
            guard child.name == "counter" else { throw child.unexpectedChild() }
            var c = try ElementReader(child, name: "counter", namespace: namespace)
            let replica = try c.string("replica")
            let value = try c.uint64("value", minimum: 1)
            try c.finish()
            guard counters.updateValue(value, forKey: replica) == nil else {
                throw child.error(.duplicate, "replica \(replica) appears twice in <version>")
            }
        }
        self.init(counters)
    }
}

/// Collects the single-occurrence children of an element, refusing a second one.
struct SingleChild {
    private(set) var value: ManifestElement?

    mutating func set(_ element: ManifestElement) throws(ManifestError) {
        guard value == nil else { throw element.duplicateChild() }
        value = element
    }

    func required(in parent: ManifestElement, _ name: String) throws(ManifestError) -> ManifestElement {
        guard let value else { throw parent.error(.missing, "<\(parent.name)> is missing required element <\(name)>") }
        return value
    }
}

/// The manifest vocabularies. Each has its own versioned namespace `urn:satchel:<name>:<version>`,
/// root element `<name>` and XSD schema `Schemas/<name>-<version>.xsd`.
///
/// Patient-visible and staff-only data live in separate vocabularies: `message` and `thread` have
/// no field for Bcc or drafts; `envelope` (Staff Bcc), `draft` and `draftset` are staff-only.
public enum Vocabulary: String, Sendable, CaseIterable {
    /// Store configuration (`config.xml`).
    case store
    /// The directory imported from the EHR (CONTRACT.md's import format).
    case directory
    /// Thread head: flags, version vector, message references.
    case thread
    /// One immutable message (patient-visible).
    case message
    /// Staff-only envelope of a message: Staff Bcc.
    case envelope
    /// Staff-only draft (a live version or a tombstone).
    case draft
    /// Staff-only set of concurrent draft versions (siblings).
    case draftSet = "draftset"
    /// Portal-only outbox entry: one notification to send (a link, no PHI).
    case notification
    /// Header of a sync bundle.
    case bundle
    /// What a store knows about a sync peer.
    case checkpoint
    /// A replica's HTTP sync token on a portal, stored as a salted hash (portal only, never synced).
    case token
    /// Header of a backup archive.
    case backup

    /// The version this build reads and writes.
    public var version: Int { 1 }

    /// `urn:satchel:<name>:<version>`.
    public var namespace: String { "urn:satchel:\(rawValue):\(version)" }

    /// Local name of the root element.
    public var rootElement: String {
        switch self {
        case .draftSet: "draftSet"
        default: rawValue
        }
    }

    /// File name of the XSD inside the `Schemas` resource folder.
    public var schemaFileName: String { "\(rawValue)-\(version).xsd" }

    /// Identifies the vocabulary of a root element's namespace, refusing foreign namespaces and
    /// versions this build can't read. With `expected`, also refuses other vocabularies.
    public static func identify(namespace: String?, expected: Vocabulary? = nil,
                                line: Int? = nil, column: Int? = nil) throws(ManifestError) -> Vocabulary {
        let wanted = expected.map { " (expected \($0.namespace))" } ?? ""
        guard let namespace else {
            throw ManifestError(.wrongNamespace, "root element has no namespace\(wanted)",
                                line: line, column: column)
        }
        let parts = namespace.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "urn", parts[1] == "satchel",
              let vocabulary = Vocabulary(rawValue: String(parts[2])) else {
            throw ManifestError(.wrongNamespace, "namespace \(namespace) is not a Satchel vocabulary\(wanted)",
                                line: line, column: column)
        }
        if let expected, expected != vocabulary {
            throw ManifestError(.wrongNamespace,
                "expected a \(expected) manifest (\(expected.namespace)), found a \(vocabulary) manifest",
                line: line, column: column)
        }
        guard parts[3] == String(vocabulary.version) else {
            throw ManifestError(.unknownVersion,
                "\(vocabulary) manifest version \(parts[3]) is not supported; this build reads version \(vocabulary.version) (\(vocabulary.namespace))",
                line: line, column: column)
        }
        return vocabulary
    }
}

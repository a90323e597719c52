/// The manifest vocabularies. Each has its own versioned namespace `urn:satchel:<name>:<version>`,
/// root element `<name>` and XSD schema `Schemas/<name>-<version>.xsd`.
///
/// Patient-visible and staff-only data live in separate vocabularies: `message` and `thread` have
/// no field for Bcc or drafts; `envelope` (Staff Bcc), `draft` and `draftset` are staff-only.
public enum Vocabulary: String, Sendable, CaseIterable {
    /// Store configuration (`config.xml`).
    case store
    /// The directory imported from the EHR (docs/FORMAT.md §4.2).
    case directory
    /// Thread head: identity, version vector and the set of the thread's events (version 2;
    /// version 1, flag registers and message references, is still read).
    case thread
    /// One immutable flag event of a thread (close, reopen, replies on/off, read).
    case event
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

    /// The version this build writes.
    public var version: Int {
        switch self {
        case .thread: 2
        default: 1
        }
    }

    /// The versions this build reads (the written one and older ones it still understands).
    public var readableVersions: ClosedRange<Int> {
        switch self {
        case .thread: 1...2
        default: version...version
        }
    }

    /// `urn:satchel:<name>:<version>` for the written version.
    public var namespace: String { namespace(version: version) }

    /// `urn:satchel:<name>:<version>`.
    public func namespace(version: Int) -> String { "urn:satchel:\(rawValue):\(version)" }

    /// Local name of the root element.
    public var rootElement: String {
        switch self {
        case .draftSet: "draftSet"
        default: rawValue
        }
    }

    /// File name of the XSD inside the `Schemas` resource folder.
    public var schemaFileName: String { schemaFileName(version: version) }

    /// File name of the XSD of one version.
    public func schemaFileName(version: Int) -> String { "\(rawValue)-\(version).xsd" }

    /// Identifies the vocabulary of a root element's namespace, refusing foreign namespaces and
    /// versions this build can't read. With `expected`, also refuses other vocabularies.
    public static func identify(namespace: String?, expected: Vocabulary? = nil,
                                line: Int? = nil, column: Int? = nil) throws(ManifestError) -> Vocabulary {
        try identifyVersion(namespace: namespace, expected: expected, line: line, column: column).vocabulary
    }

    /// Like ``identify(namespace:expected:line:column:)``, also returning the version read.
    public static func identifyVersion(namespace: String?, expected: Vocabulary? = nil, line: Int? = nil,
                                       column: Int? = nil) throws(ManifestError) -> (vocabulary: Vocabulary, version: Int) {
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
        guard let version = Int(parts[3]), String(version) == parts[3],
              vocabulary.readableVersions.contains(version) else {
            let readable = vocabulary.readableVersions.map(String.init).joined(separator: ", ")
            throw ManifestError(.unknownVersion,
                "\(vocabulary) manifest version \(parts[3]) is not supported; this build reads version \(readable) (\(vocabulary.namespace))",
                line: line, column: column)
        }
        return (vocabulary, version)
    }
}

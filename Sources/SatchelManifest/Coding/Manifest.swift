import SatchelStore

/// A typed manifest: a Swift value with a canonical XML form in one ``Vocabulary``.
///
/// Conformers write their canonical form with ``encode(to:)`` and read it back with
/// ``init(element:)``. Everything else (bytes, streams, validation, object IDs) comes from the
/// extension below.
public protocol Manifest: Sendable, Equatable {
    /// The vocabulary (namespace, root element, schema) of this manifest type.
    static var vocabulary: Vocabulary { get }

    /// Writes the whole document, root element included.
    func encode(to writer: CanonicalWriter) throws

    /// Decodes a root element that has already passed the hardened parser (and, for untrusted
    /// input, the XSD). Decoding is strict on its own too: unknown attributes or elements,
    /// missing required ones and malformed values are refused.
    init(element: ManifestElement) throws(ManifestError)
}

extension Manifest {
    /// The canonical bytes.
    public func encoded() throws(ManifestError) -> [UInt8] {
        var out: [UInt8] = []
        try encode { out.append(contentsOf: $0) }
        return out
    }

    /// Streams the canonical bytes into `sink`.
    public func encode(into sink: @escaping CanonicalWriter.Sink) throws(ManifestError) {
        let writer = CanonicalWriter(namespace: Self.vocabulary.namespace, sink: sink)
        do {
            try encode(to: writer)
            try writer.finish()
        } catch let error as ManifestError {
            throw error
        } catch {
            throw ManifestError(.io, "writing the \(Self.vocabulary) manifest failed",
                                cause: error)
        }
    }

    /// The store address of the canonical bytes (kind `manifest`).
    public func objectID() throws(ManifestError) -> ObjectID {
        ObjectID.compute(kind: .manifest, payload: try encoded())
    }

    /// Reads and decodes bytes of this vocabulary.
    public static func decode(_ bytes: [UInt8], trust: ManifestTrust = .untrusted,
                              limits: ParseLimits = .default) throws(ManifestError) -> Self {
        try Self(element: ManifestReader.read(bytes, expecting: vocabulary, trust: trust, limits: limits))
    }

    /// Reads and decodes a stream of pieces of this vocabulary.
    public static func decode(next: () throws -> [UInt8]?, trust: ManifestTrust = .untrusted,
                              limits: ParseLimits = .default) throws(ManifestError) -> Self {
        try Self(element: ManifestReader.read(next: next, expecting: vocabulary, trust: trust, limits: limits))
    }
}

/// Any manifest this build knows, for code that reads objects without knowing their kind (fsck).
public enum AnyManifest: Sendable, Equatable {
    case store(StoreConfig)
    case directory(Directory)
    case thread(ThreadManifest)
    case event(ThreadEvent)
    case message(MessageManifest)
    case envelope(StaffEnvelope)
    case draft(DraftManifest)
    case draftSet(DraftSet)
    case notification(OutboxEntry)
    case bundle(BundleHeader)
    case checkpoint(PeerCheckpoint)
    case token(ReplicaToken)
    case backup(BackupHeader)

    /// Detects the vocabulary from the root namespace and decodes accordingly.
    public static func decode(_ bytes: [UInt8], trust: ManifestTrust = .untrusted,
                              limits: ParseLimits = .default) throws(ManifestError) -> AnyManifest {
        let root = try ManifestReader.read(bytes, trust: trust, limits: limits)
        switch try Vocabulary.identify(namespace: root.namespace, line: root.line, column: root.column) {
        case .store: return .store(try StoreConfig(element: root))
        case .directory: return .directory(try Directory(element: root))
        case .thread: return .thread(try ThreadManifest(element: root))
        case .event: return .event(try ThreadEvent(element: root))
        case .message: return .message(try MessageManifest(element: root))
        case .envelope: return .envelope(try StaffEnvelope(element: root))
        case .draft: return .draft(try DraftManifest(element: root))
        case .draftSet: return .draftSet(try DraftSet(element: root))
        case .notification: return .notification(try OutboxEntry(element: root))
        case .bundle: return .bundle(try BundleHeader(element: root))
        case .checkpoint: return .checkpoint(try PeerCheckpoint(element: root))
        case .token: return .token(try ReplicaToken(element: root))
        case .backup: return .backup(try BackupHeader(element: root))
        }
    }

    /// The vocabulary of the manifest held.
    public var vocabulary: Vocabulary {
        switch self {
        case .store: .store
        case .directory: .directory
        case .thread: .thread
        case .event: .event
        case .message: .message
        case .envelope: .envelope
        case .draft: .draft
        case .draftSet: .draftSet
        case .notification: .notification
        case .bundle: .bundle
        case .checkpoint: .checkpoint
        case .token: .token
        case .backup: .backup
        }
    }
}

import Foundation
import SatchelManifest
import SatchelStore
import Synchronization
import SystemPackage

/// A Satchel store as the messaging layer sees it: the object store, its configuration (role,
/// replica ID) and the ref namespaces that hold messaging state.
///
/// Ref namespaces (docs/FORMAT.md):
/// - `directory` → the current ``Directory`` manifest
/// - `threads/<thread>` → the thread's head ``ThreadManifest``
/// - `envelopes/<thread>/<message>` → ``StaffEnvelope`` (staff-only: workstations)
/// - `drafts/<draft>` → ``DraftManifest`` (one version, live or a tombstone) or ``DraftSet``
///   (concurrent versions) (staff-only: workstations)
/// - `outbox/<notification>` → ``OutboxEntry`` (portal only)
public final class Repository: Sendable {
    /// The object store: objects and refs.
    public let store: ObjectStore
    /// The store's configuration (`config.xml`): role and replica ID.
    public let config: StoreConfig

    /// Name of the configuration file at the store's root.
    public static let configFile = "config.xml"
    /// `config.xml` is a few hundred bytes; anything over this is refused unread.
    public static let configLimit = 1 << 20

    /// Whether this store is a workstation or a portal.
    public var role: StoreConfig.Role { config.role }
    /// This store's replica ID.
    public var replica: String { config.replica }
    /// True for a portal store.
    public var isPortal: Bool { config.role == .portal }

    /// The last directory decoded, by object ID: a long-lived repository (`satchel serve`)
    /// decodes a large clinic directory once, not on every send, reply or bundle apply.
    private let directoryCache = Mutex<(id: ObjectID, directory: Directory)?>(nil)
    /// The access model of that directory (its lookup tables), built once per directory version.
    private let accessCache = Mutex<(id: ObjectID, access: Access)?>(nil)
    /// The recipient rules of that directory (its lookup tables), built once per directory version.
    private let resolverCache = Mutex<(id: ObjectID, resolver: RecipientResolver)?>(nil)

    init(store: ObjectStore, config: StoreConfig) {
        self.store = store
        self.config = config
    }

    /// Creates a store with a fresh replica ID. A failure removes what it created, and an
    /// existing non-empty directory is refused before anything is written.
    public static func create(at path: String, role: StoreConfig.Role, name: String? = nil,
                              portalURL: String? = nil) throws -> Repository {
        let existed: Bool
        // A symlink to an empty directory (a store on another volume) is fine, as with `git init`.
        switch try LocalFiles.entry(path, followingSymlink: true) {
        case .absent: existed = false
        case .emptyDirectory: existed = true
        case .directory:
            throw StoreError(.exists, "\(path) is not empty; a new store needs an absent or empty directory", path: path)
        case .other:
            throw StoreError(.exists, "\(path) exists and is not a directory; a new store needs an absent or empty directory", path: path)
        }
        // Like `git init`, missing parent directories are created.
        let parent = FilePath(path).removingLastComponent().string
        if !parent.isEmpty { try LocalFiles.createDirectory(parent) }
        do {
            let store = try ObjectStore.create(at: path)
            let config = StoreConfig(replica: Identifier.replica(), role: role, name: name, created: .now(),
                                     portalURL: portalURL)
            try store.writeRootFile(configFile, try config.encoded())
            return Repository(store: store, config: config)
        } catch {
            if existed {
                for entry in (try? LocalFiles.list(path)) ?? [] { try? LocalFiles.removeTree(path + "/" + entry) }
            } else {
                try? LocalFiles.removeTree(path)
            }
            throw error
        }
    }

    /// Sets the portal base URL that notification links use (`https://…` or `http://…`),
    /// rewriting the store's configuration durably; returns the reopened repository.
    public static func setPortalURL(_ url: String, at path: String) throws -> Repository {
        guard let parsed = URL(string: url), ["https", "http"].contains(parsed.scheme?.lowercased() ?? ""),
              parsed.host?.isEmpty == false else {
            throw MessagingError(.usage, "the portal URL must be an http(s) URL with a host")
        }
        let repository = try open(at: path)
        var config = repository.config
        config.portalURL = url
        try repository.store.writeRootFile(configFile, try config.encoded())
        return Repository(store: repository.store, config: config)
    }

    /// Opens an existing store.
    public static func open(at path: String) throws -> Repository {
        let store = try ObjectStore(root: path)
        let configPath = store.root + "/" + configFile
        let bytes: [UInt8]
        do { bytes = try InputFile.read(configPath, limit: configLimit) } catch let error as StoreError where error.code == .notFound {
            throw StoreError(.notFound, "store has no \(configFile)", path: configPath)
        }
        return Repository(store: store, config: try StoreConfig.decode(bytes, trust: .trusted))
    }

    // MARK: Ref names

    static let directoryRef = try! RefName("directory")
    static func threadRef(_ thread: String) throws -> RefName { try RefName("threads/" + thread) }
    static func envelopeRef(thread: String, message: String) throws -> RefName {
        try RefName("envelopes/\(thread)/\(message)")
    }
    static func draftRef(_ draft: String) throws -> RefName { try RefName("drafts/" + draft) }
    static func outboxRef(_ id: String) throws -> RefName { try RefName("outbox/" + id) }

    /// Refs are built from IDs that may come from the command line: a hostile one is "not found".
    static func ref(_ make: () throws -> RefName, what: String) throws -> RefName {
        do { return try make() } catch {
            throw MessagingError.notFound("\(what) not found (not a valid ID)")
        }
    }

    // MARK: Manifests

    /// Reads a manifest this store wrote (verified against its ID; schema-checked as trusted).
    public func load<M: Manifest>(_ type: M.Type, _ id: ObjectID) throws -> M {
        let (kind, bytes) = try store.read(id)
        guard kind == .manifest else {
            throw StoreError(.corrupt, "object \(id.short) is a \(kind), expected a manifest", object: id)
        }
        return try M.decode(bytes, trust: .trusted)
    }

    /// Reads any manifest this store wrote (verified against its ID; schema-checked as trusted).
    public func loadAny(_ id: ObjectID) throws -> AnyManifest {
        let (kind, bytes) = try store.read(id)
        guard kind == .manifest else {
            throw StoreError(.corrupt, "object \(id.short) is a \(kind), expected a manifest", object: id)
        }
        return try AnyManifest.decode(bytes, trust: .trusted)
    }

    /// The manifest a ref points at, with its ID; nil when the ref does not exist.
    public func head<M: Manifest>(_ type: M.Type, _ ref: RefName) throws -> (id: ObjectID, value: M)? {
        guard let id = try store.refs.read(ref) else { return nil }
        return (id, try load(type, id))
    }

    // MARK: Directory

    /// The current directory. Throws `.notFound` before the first import.
    public func directory() throws -> Directory {
        guard let id = try store.refs.read(Self.directoryRef) else {
            throw MessagingError.notFound("no directory imported yet (satchel directory import FILE.xml)")
        }
        if let cached = directoryCache.withLock({ $0 }), cached.id == id { return cached.directory }
        let directory = try load(Directory.self, id)
        directoryCache.withLock { $0 = (id, directory) }
        return directory
    }

    /// The access model (Access.swift) of the current directory, cached per directory version:
    /// every view, list and reply asks it.
    public func access() throws -> Access {
        guard let id = try store.refs.read(Self.directoryRef) else {
            throw MessagingError.notFound("no directory imported yet (satchel directory import FILE.xml)")
        }
        if let cached = accessCache.withLock({ $0 }), cached.id == id { return cached.access }
        let access = Access(try directory(at: id))
        accessCache.withLock { $0 = (id, access) }
        return access
    }

    /// The recipient rules of the current directory, cached per directory version: every send
    /// asks them, and building their lookup tables is linear in the clinic's size.
    func recipientResolver() throws -> RecipientResolver {
        guard let id = try store.refs.read(Self.directoryRef) else {
            throw MessagingError.notFound("no directory imported yet (satchel directory import FILE.xml)")
        }
        if let cached = resolverCache.withLock({ $0 }), cached.id == id { return cached.resolver }
        let directory = try directory(at: id)
        let access = if let cached = accessCache.withLock({ $0 }), cached.id == id { cached.access } else { Access(directory) }
        let resolver = RecipientResolver(directory, access: access)
        resolverCache.withLock { $0 = (id, resolver) }
        return resolver
    }

    /// The directory stored as object `id` (from the cache when it is the last one decoded).
    private func directory(at id: ObjectID) throws -> Directory {
        if let cached = directoryCache.withLock({ $0 }), cached.id == id { return cached.directory }
        let directory = try load(Directory.self, id)
        directoryCache.withLock { $0 = (id, directory) }
        return directory
    }

    /// Validates a directory file (schema, references, notification templates:
    /// NotificationTemplateRules.swift) and makes it the current directory. A bad file changes
    /// nothing.
    @discardableResult
    public func importDirectory(_ fileBytes: [UInt8]) throws -> (id: ObjectID, directory: Directory) {
        let directory = try Directory.importFile(fileBytes)
        try NotificationTemplateRules.check(directory)
        let batch = try store.batch()
        var published = false
        defer { if !published { batch.abandon() } }
        let id = try batch.put(.manifest, directory.encoded())
        let current = try store.refs.read(Self.directoryRef)
        var updates = current == id ? [] : [RefUpdate(Self.directoryRef, from: current, to: id)]
        // A portal keeps a small per-person index for notifications (ContactIndex.swift).
        if isPortal { updates += try contactIndexUpdates(for: directory, batch: batch) }
        try batch.commit(moving: updates)
        published = true
        return (id, directory)
    }
}

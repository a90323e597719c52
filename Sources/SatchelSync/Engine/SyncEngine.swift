import SatchelManifest
import SatchelMessaging
import SatchelStore

/// Sync for one store: bundles out, bundles in, and two-way exchanges with another store.
public final class SyncEngine: Sendable {
    /// The store this engine syncs.
    public let repository: Repository

    /// An engine for `repository`; it holds no state of its own between calls.
    public init(_ repository: Repository) {
        self.repository = repository
    }
}

/// What `bundle apply` did to heads (docs/CLI.md `bundle apply`).
public struct ApplyResult: Sendable, Equatable {
    /// Heads this store did not have.
    public var applied = 0
    /// Heads that moved to the bundle's version (it had seen ours).
    public var fastForwarded = 0
    /// Heads merged from concurrent versions into a new one.
    public var merged = 0
    /// Heads this store already had (or had seen).
    public var unchanged = 0
    /// Objects new to this store.
    public var objects = 0
    /// Threads whose head changed.
    public var threads = 0
    /// Messages (and flag events) new here that break a messaging rule: stored and kept for
    /// staff, never shown to patients or notified. Only a faulty or hostile peer makes them.
    public var quarantined: [Quarantined] = []
}

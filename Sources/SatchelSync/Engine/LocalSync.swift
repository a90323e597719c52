import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore

extension SyncEngine {
    /// A two-way exchange with another store on this machine: a bundle each way, each holding
    /// only objects the other side lacks. Each side's apply is all-or-nothing on its own.
    public func sync(with other: Repository) throws -> (sent: TransferSummary, received: TransferSummary) {
        guard other.replica != repository.replica else {
            throw SyncError(.badInput, "both stores have replica \(other.replica); a store cannot sync with itself or its copy")
        }
        let peer = SyncEngine(other)
        let outgoing = repository.store.root + "/tmp/sync-out-" + UUID().uuidString + ".bundle"
        let incoming = other.store.root + "/tmp/sync-in-" + UUID().uuidString + ".bundle"
        defer {
            try? FileManager.default.removeItem(atPath: outgoing)
            try? FileManager.default.removeItem(atPath: incoming)
        }
        // `targetHas` also decides which heads are sent: a head object the other store holds
        // without a ref naming it (left by an apply that failed half-way) must still be sent,
        // or a retry would never move that ref.
        let sent = try createBundle(for: other.replica, targetRole: other.role, to: outgoing,
                                    targetHas: try Self.holds(other, heads: repository))
        try peer.applyBundle(outgoing)
        let received = try peer.createBundle(for: repository.replica, targetRole: repository.role, to: incoming,
                                             targetHas: try Self.holds(repository, heads: other))
        try applyBundle(incoming)
        return (sent, received)
    }

    /// What `target` holds, for a bundle from `source`: an object it stores, except that a head of
    /// `source` counts only when one of `target`'s refs names it.
    static func holds(_ target: Repository, heads source: Repository) throws -> (ObjectID) -> Bool {
        let sourceHeads = Set(try source.store.refs.list().map(\.id))
        let targetRefs = Set(try target.store.refs.list().map(\.id))
        let store = target.store
        return { id in store.contains(id) && (!sourceHeads.contains(id) || targetRefs.contains(id)) }
    }
}

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
        let sent = try createBundle(for: other.replica, targetRole: other.role, to: outgoing,
                                    targetHas: { other.store.contains($0) })
        try peer.applyBundle(outgoing)
        let received = try peer.createBundle(for: repository.replica, targetRole: repository.role, to: incoming,
                                             targetHas: { self.repository.store.contains($0) })
        try applyBundle(incoming)
        return (sent, received)
    }
}

import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore

extension SyncEngine {
    /// A two-way exchange with another store on this machine: a bundle each way, each holding
    /// only objects the other side lacks. Each side's apply is all-or-nothing on its own.
    public func sync(with other: Repository) throws -> (sent: TransferSummary, received: TransferSummary) {
        let result = try exchange(with: other)
        return (result.sent, result.received)
    }

    /// ``sync(with:)`` with everything the two applies reported, quarantined messages included.
    /// A peer that lacks a prerequisite an incremental bundle assumed (its store lost objects,
    /// or a change-log record described a change that did not happen) gets a full bundle
    /// instead: a sync always makes progress.
    public func exchange(with other: Repository) throws -> SyncResult {
        guard other.replica != repository.replica else {
            throw SyncError(.badInput, "both stores have replica \(other.replica); a store cannot sync with itself or its copy")
        }
        let peer = SyncEngine(other)
        let outgoing = repository.store.scratchPath("sync-out-", suffix: ".bundle")
        let incoming = other.store.scratchPath("sync-in-", suffix: ".bundle")
        defer {
            try? LocalFiles.remove(outgoing)
            try? LocalFiles.remove(incoming)
        }
        let (sent, applied) = try transfer(from: self, to: peer, via: outgoing)
        let (received, receivedApplied) = try transfer(from: peer, to: self, via: incoming)
        return SyncResult(sent: sent, received: received, sentApplied: applied, receivedApplied: receivedApplied)
    }

    private func transfer(from source: SyncEngine, to target: SyncEngine,
                          via path: String) throws -> (TransferSummary, ApplyResult) {
        let targetStore = target.repository.store
        // Heads are left out only when the target's ref already names them: a head object the
        // target holds without a ref (left by an apply that failed half-way) is still sent, or a
        // retry would never move that ref.
        let targetRef: (RefName) throws -> ObjectID? = { try targetStore.refs.read($0) }
        var summary = try source.createBundle(for: target.repository.replica, targetRole: target.repository.role, to: path,
                                              targetHas: { targetStore.contains($0) }, targetRef: targetRef)
        do {
            return (summary, try target.applyBundle(path))
        } catch let error as SyncError where error.code == .missingPrerequisite {
            try? LocalFiles.remove(path)
            summary = try source.createBundle(for: target.repository.replica, targetRole: target.repository.role, to: path,
                                              targetHas: { targetStore.contains($0) }, targetRef: targetRef, full: true)
            return (summary, try target.applyBundle(path))
        }
    }
}

/// What a two-way exchange did (docs/CLI.md `sync`).
public struct SyncResult: Sendable, Equatable {
    /// The bundle this store sent.
    public var sent: TransferSummary
    /// The bundle this store received.
    public var received: TransferSummary
    /// What the peer's apply of our bundle did.
    public var sentApplied: ApplyResult
    /// What our apply of the peer's bundle did.
    public var receivedApplied: ApplyResult

    /// Quarantined messages on either side.
    public var quarantined: [Quarantined] { sentApplied.quarantined + receivedApplied.quarantined }
}

import Foundation
import SatchelManifest
import SatchelStore

/// What a gateway is handed for one notification: no PHI (a link-only text and an address).
/// `notification` is stable across retries, so a gateway can drop a repeat it already sent.
public struct OutboundNotification: Sendable, Equatable {
    /// The notification ID, the same on every retry.
    public var notification: String
    /// Email or SMS.
    public var channel: OutboxEntry.Channel
    /// The recipient's current email address or cellphone number on that channel.
    public var address: String
    /// The notification text, from a directory template: a link, no PHI.
    public var text: String
}

/// The outcome of one delivery run (docs/CLI.md `outbox deliver`).
public struct DeliveryResult: Sendable, Equatable {
    /// Handed to the gateway and acknowledged in this run.
    public var sent = 0
    /// Handed to the gateway and refused (or it failed) in this run; retried later.
    public var failed = 0
    /// Not yet sent after this run: pending or failed entries (including those waiting for
    /// their retry time, and those held because the recipient has no access now).
    public var pending = 0
}

/// Delivery of the outbox (docs/ARCHITECTURE.md "Notifications"):
///
/// - One run at a time per store (a lease lock, `tmp/outbox-deliver.lock`; a dead holder's
///   lease goes stale by itself).
/// - Due entries are `pending`, or `failed` whose `retryAt` has passed, oldest first, at most
///   `limit`. Entries whose recipient has no access now (Access.swift), or no address on that
///   channel any more, are held, not sent; they go out once that changes. An entry goes to the
///   recipient's current address on its channel (a directory import may have corrected it).
/// - Per entry: first the attempt is recorded durably (`attempts + 1`, `retryAt = now +
///   backoff`), then the gateway runs, then the outcome is recorded (`sent` or `failed`).
///   Backoff: `retryAfter × 2^(attempts-1)`, at most a day (`retryAfter` 0 = due at once).
/// - An entry recorded `sent` is never handed out again. A crash after the gateway
///   acknowledged but before `sent` was recorded hands the same entry (same `notification`
///   ID) out once more on a later run: delivery is at least once, and exactly once for a
///   gateway that drops IDs it has already sent.
extension Repository {
    /// Longest wait between attempts.
    public static let maximumRetryDelay: Double = 86_400

    /// Hands due notifications to `send` (which throws to report a failure) and records each
    /// outcome. See the type comment above for the contract.
    public func deliverOutbox(limit: Int? = nil, retryAfter: Double = 60, now: () -> Timestamp = { .now() },
                              send: (OutboundNotification) throws -> Void) throws -> DeliveryResult {
        guard isPortal else { return DeliveryResult() }  // a workstation never queues anything
        let lock = try LeaseLock.acquire(store.root + "/tmp/outbox-deliver.lock", tempDirectory: store.root + "/tmp",
                                         wait: 1, ttl: 600)
        defer { lock.release() }
        var result = DeliveryResult()
        var entries: [(ref: RefName, id: ObjectID, entry: OutboxEntry)] = []
        for ref in try store.refs.list(prefix: "outbox/") {
            let entry = try load(OutboxEntry.self, ref.id)
            if entry.status != .sent { entries.append((ref.name, ref.id, entry)) }
        }
        entries.sort { ($0.entry.created, $0.entry.id) < ($1.entry.created, $1.entry.id) }
        let access = Access(try notificationDirectory(for: Set(entries.map(\.entry.recipient))) ?? Directory())
        var attempted = 0
        for (ref, id, entry) in entries {
            let start = now()
            let due = entry.retryAt.map { $0 <= start } ?? true
            // The person's current address on this channel (a directory import may have changed
            // it since the entry was queued); none (or no access) holds the entry.
            let address = access.addresses(of: entry.recipient).first { $0.channel.rawValue == entry.channel.rawValue }?.address
            guard due, access.mayBeNotified(entry.recipient), let address, attempted < (limit ?? .max) else {
                result.pending += 1
                continue
            }
            attempted += 1
            try lock.renew()
            // 1. The attempt, durably, before the gateway sees anything.
            var attempt = entry
            attempt.address = address
            attempt.attempts += 1
            attempt.updated = start
            let delay = min(retryAfter * pow(2, Double(min(attempt.attempts - 1, 30))), Self.maximumRetryDelay)
            attempt.retryAt = Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + Int64(delay * 1000))
            let attemptID = try store.put(.manifest, attempt.encoded())
            try store.refs.update(ref, from: id, to: attemptID)
            // 2. The gateway.
            var outcome = attempt
            do {
                try send(OutboundNotification(notification: entry.id, channel: entry.channel, address: address,
                                              text: entry.text))
                outcome.status = .sent
                outcome.retryAt = nil
                result.sent += 1
            } catch {
                outcome.status = .failed
                result.failed += 1
                result.pending += 1
            }
            // 3. The outcome.
            outcome.updated = now()
            let outcomeID = try store.put(.manifest, outcome.encoded())
            try store.refs.update(ref, from: attemptID, to: outcomeID)
        }
        return result
    }
}

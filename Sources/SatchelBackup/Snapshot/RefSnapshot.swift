import Foundation
import SatchelStore

/// A consistent snapshot of every ref of a live store, taken without blocking writers.
///
/// Refs are read one file at a time (each read is atomic: refs are replaced by rename), so a
/// single pass can mix states from before and after a concurrent change. The snapshot is
/// therefore a *double collect*: read every ref, check that no ref transaction is half-applied
/// (no `tmp/txn-*.journal`), read every ref again, and accept only when both passes agree and
/// the change log's last sequence number did not move from before the first pass to after the
/// second. Every ref change appends to the change log before it happens, and a ref's lock is
/// held from that append until its file is replaced, so with an unmoved sequence each ref
/// changes at most once during the passes; two equal passes then mean every ref held its value
/// throughout the moment between them, and the empty journal list means that moment was not
/// inside a multi-ref transaction. Otherwise it retries (with a short backoff) and finally
/// reports `.busy`.
enum RefSnapshot {
    static func take(_ store: ObjectStore, attempts: Int = 50) throws -> [(name: RefName, id: ObjectID)] {
        var delay = 0.002
        for _ in 0..<attempts {
            let before = try store.refs.changeLog.lastSequence()
            let first = try store.refs.list()
            let quiet = !hasJournal(store)
            let second = try store.refs.list()
            let after = try store.refs.changeLog.lastSequence()
            if quiet && before == after && first.elementsEqual(second, by: { $0.name == $1.name && $0.id == $1.id }) {
                return first
            }
            Thread.sleep(forTimeInterval: delay)
            delay = min(delay * 2, 0.1)
        }
        throw BackupError(.busy, "the store kept changing: no consistent snapshot of its refs after \(attempts) attempts; retry")
    }

    static func hasJournal(_ store: ObjectStore) -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: store.root + "/tmp")) ?? []
        return names.contains { $0.hasPrefix("txn-") && $0.hasSuffix(".journal") }
    }
}

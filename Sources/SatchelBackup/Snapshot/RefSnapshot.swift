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
/// inside a multi-ref transaction.
///
/// A writer that never pauses could starve that forever, so after `optimistic` failed attempts
/// the snapshot holds the change-log lock (``ChangeLog/withAppendsHeld(_:)``): no change can
/// begin, the ones already past their record finish within milliseconds, and the double
/// collect then succeeds. Writers wait about `heldSeconds` at most (the lock is given up after
/// the first collect that ends past it). Only a transaction whose
/// process died half-way (its journal stays until the next open rolls it forward) still
/// makes it report `.busy`.
enum RefSnapshot {
    static func take(_ store: ObjectStore, optimistic: Int = 8, heldSeconds: Double = 2) throws -> [(name: RefName, id: ObjectID)] {
        var delay = 0.002
        for _ in 0..<optimistic {
            let before = try store.refs.changeLog.lastSequence()
            if let refs = try collect(store), try store.refs.changeLog.lastSequence() == before {
                return refs
            }
            Thread.sleep(forTimeInterval: delay)
            delay = min(delay * 2, 0.1)
        }
        let refs = try store.refs.changeLog.withAppendsHeld { () -> [(name: RefName, id: ObjectID)]? in
            let deadline = Date().addingTimeInterval(heldSeconds)
            repeat {
                if let refs = try collect(store) { return refs }
                Thread.sleep(forTimeInterval: 0.002)
            } while Date() < deadline
            return nil
        }
        guard let refs else {
            throw BackupError(.busy, "the store kept changing: no consistent snapshot of its refs (a ref transaction stayed half-applied); retry")
        }
        return refs
    }

    /// Both passes of a double collect, if they agree and no transaction was half-applied.
    private static func collect(_ store: ObjectStore) throws -> [(name: RefName, id: ObjectID)]? {
        let first = try store.refs.list()
        let quiet = !hasJournal(store)
        let second = try store.refs.list()
        guard quiet, first.elementsEqual(second, by: { $0.name == $1.name && $0.id == $1.id }) else { return nil }
        return first
    }

    static func hasJournal(_ store: ObjectStore) -> Bool {
        let names = (try? LocalFiles.list(store.root + "/tmp")) ?? []
        return names.contains { $0.hasPrefix("txn-") && $0.hasSuffix(".journal") }
    }
}

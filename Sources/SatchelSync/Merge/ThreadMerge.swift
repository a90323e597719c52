import SatchelManifest

/// The merge of two heads of the same thread: the union of their event sets
/// (``ThreadManifest/union(_:)``), a join by construction.
///
/// - Events: the union by key (a dot, or a legacy message's ID). Events are immutable, so one key
///   naming two different events, or one message under two keys, is refused: no legitimate set
///   of replicas produces it.
/// - Version: the pointwise maximum.
/// - Identity (ID, patient, creation time, subject, first message, initial allow-replies):
///   fixed; heads that differ in it are refused, never merged.
///
/// Status, allow-replies and conflicts are functions of the event set, so the result depends
/// only on the set of events: merge is commutative, associative and idempotent on the encoded
/// bytes, and every replica that has the same events writes byte-identical manifests.
public enum ThreadMerge {
    /// The union of two heads of one thread; ``SyncError/Code/badInput`` when their identities
    /// differ or one key names two different events.
    public static func merge(_ a: ThreadManifest, _ b: ThreadManifest) throws(SyncError) -> ThreadManifest {
        do {
            return try a.union(b)
        } catch {
            switch error {
            case .identity(let field):
                throw SyncError(.badInput, "thread \(a.id): the two heads disagree on the thread's \(field), which never changes; refusing to merge")
            case .inconsistentEvent(let what):
                throw SyncError(.badInput, "thread \(a.id): \(what); refusing to merge")
            }
        }
    }
}

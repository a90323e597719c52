import SatchelManifest
import SatchelMessaging
import SatchelStore

/// The deterministic merge (a join) of two heads of the same draft.
///
/// A head is a set of versions ("siblings"), each a draft object with its own version vector
/// (live, or a sent/discarded tombstone). The merge is the union of both sides' versions minus
/// every version another one dominates:
///
/// - `y` dominates `x` when `y`'s vector is ahead of `x`'s, or the vectors are equal and `y`'s
///   object ID is greater (equal vectors with different content cannot come from correct
///   replicas; the tie-break only keeps the merge total and deterministic).
///
/// So a later edit (or send, or discard), whose vector is the join of every version it saw plus
/// one, replaces them all; concurrent versions are all kept. A live edit concurrent with a
/// tombstone therefore survives as a live draft (send-vs-edit keeps the edit), and a tombstone
/// that dominates every live version wins.
///
/// This keeps exactly the maximal elements of a strict partial order, so the merge is
/// commutative, associative and idempotent, and its result depends only on the set of versions:
/// merge(a, b) and merge(b, a) name the same versions, sorted by object ID, and therefore write
/// the byte-identical ``DraftSet`` (or point at the same single draft).
public enum DraftMerge {
    /// The versions of `a` and `b` that no other version of either dominates, sorted by object ID.
    public static func merge(_ a: [DraftHead.Sibling], _ b: [DraftHead.Sibling]) -> [DraftHead.Sibling] {
        var union: [ObjectID: DraftHead.Sibling] = [:]
        for sibling in a + b { union[sibling.object] = sibling }
        let all = Array(union.values)
        return all.filter { x in !all.contains { y in dominates(y, x) } }.sorted { $0.object < $1.object }
    }

    /// True if `y` replaces `x`.
    static func dominates(_ y: DraftHead.Sibling, _ x: DraftHead.Sibling) -> Bool {
        switch y.draft.version.compare(x.draft.version) {
        case .ahead: true
        case .equal: x.object < y.object
        case .behind, .concurrent: false
        }
    }

    /// What a draft ref should point at for `siblings` (non-empty, as returned by ``merge(_:_:)``):
    /// the single draft's object, or a new ``DraftSet`` that must be stored.
    public static func head(of siblings: [DraftHead.Sibling]) throws -> (object: ObjectID, set: DraftSet?) {
        if siblings.count == 1 { return (siblings[0].object, nil) }
        let set = DraftSet(id: siblings[0].draft.id, versions: siblings.map(\.object))
        return (try set.objectID(), set)
    }
}

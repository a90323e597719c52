import SatchelManifest

/// The deterministic merge (a join) of two heads of the same thread.
///
/// - Messages: the union, keyed by message ID (messages are immutable).
/// - Version: the pointwise maximum.
/// - Flags (`status`, `allowReplies`) are registers tagged with the dot of the edit that set
///   them. If one side's version covers the other register's dot, that side saw the other edit
///   and its register is newer: it wins. If neither side saw the other's edit they are
///   concurrent: the more restrictive value wins (`closed` over `open`, `false` over `true`),
///   ties broken by the greater dot, and the losing edit is recorded as a conflict.
/// - Conflicts: the union of both sides' records plus any new one.
///
/// The result depends only on the two inputs, not their order: merge(a, b) == merge(b, a), so
/// every replica that merges the same heads writes byte-identical manifests.
public enum ThreadMerge {
    public static func merge(_ a: ThreadManifest, _ b: ThreadManifest) -> ThreadManifest {
        if a == b { return a }
        // Immutable fields: equal for one thread; if not, pick deterministically.
        let base = (a.created, a.subject, a.patient) <= (b.created, b.subject, b.patient) ? a : b
        var conflicts = Array(Set(a.conflicts).union(b.conflicts))
        let status = resolve(a.status, a.version, b.status, b.version, flag: .status,
                             restrictive: { $0 == .closed }, describe: { $0.rawValue }, conflicts: &conflicts)
        let allow = resolve(a.allowReplies, a.version, b.allowReplies, b.version, flag: .allowReplies,
                            restrictive: { $0 == false }, describe: { String($0) }, conflicts: &conflicts)
        var messages: [String: ThreadManifest.MessageReference] = [:]
        for reference in a.messages + b.messages {
            if let existing = messages[reference.id], existing.object <= reference.object { continue }
            messages[reference.id] = reference
        }
        return ThreadManifest(id: base.id, patient: base.patient, subject: base.subject, created: base.created,
                              status: status, allowReplies: allow, version: a.version.merged(with: b.version),
                              messages: Array(messages.values), conflicts: conflicts)
    }

    static func resolve<V>(_ ra: ThreadManifest.Register<V>, _ va: VersionVector,
                           _ rb: ThreadManifest.Register<V>, _ vb: VersionVector,
                           flag: ThreadManifest.FlagConflict.Flag, restrictive: (V) -> Bool,
                           describe: (V) -> String,
                           conflicts: inout [ThreadManifest.FlagConflict]) -> ThreadManifest.Register<V> {
        if ra.dot == rb.dot { return ra }
        let aSawB = va.covers(rb.dot), bSawA = vb.covers(ra.dot)
        if aSawB && !bSawA { return ra }
        if bSawA && !aSawB { return rb }
        // Concurrent edits.
        let winner: ThreadManifest.Register<V>
        if restrictive(ra.value) != restrictive(rb.value) {
            winner = restrictive(ra.value) ? ra : rb
        } else {
            winner = ra.dot > rb.dot ? ra : rb
        }
        let loser = winner.dot == ra.dot ? rb : ra
        if describe(loser.value) != describe(winner.value) {
            conflicts.append(.init(flag: flag, value: describe(loser.value), dot: loser.dot))
        }
        return winner
    }
}

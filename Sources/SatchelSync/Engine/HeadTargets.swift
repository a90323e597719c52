import SatchelManifest
import SatchelMessaging
import SatchelStore

extension SyncEngine {
    /// Checks, before an apply, that every head of `header` naming an object this store already
    /// holds (and that its ref does not already point at) names an object of the kind the ref
    /// holds: a thread manifest for `threads/`, a draft or draft set for `drafts/`, an envelope
    /// for `envelopes/`. Throws `.badInput` naming the head otherwise: a peer's mistake, not
    /// damage in this store. Heads whose object is in the bundle are checked by the apply.
    public func checkHeadTargets(_ header: BundleHeader) throws {
        let store = repository.store
        for head in header.heads {
            let expected: [Vocabulary]
            if head.ref.hasPrefix("threads/") {
                expected = [.thread]
            } else if head.ref.hasPrefix("drafts/") {
                expected = [.draft, .draftSet]
            } else if head.ref.hasPrefix("envelopes/") {
                expected = [.envelope]
            } else {
                continue  // the apply refuses refs sync never sends
            }
            guard store.contains(head.object), let name = try? RefName(head.ref),
                  try store.refs.read(name) != head.object else { continue }
            let (kind, bytes) = try store.read(head.object)
            let actual: String
            if kind == .manifest {
                guard let manifest = try? AnyManifest.decode(bytes, trust: .trusted) else { continue }
                if expected.contains(manifest.vocabulary) { continue }
                actual = "a \(manifest.vocabulary) manifest"
            } else {
                actual = "a \(kind)"
            }
            throw SyncError(.badInput, "bundle head \(head.ref) names object \(head.object.short), which is \(actual), not \(expected.map { "a \($0) manifest" }.joined(separator: " or "))")
        }
    }
}

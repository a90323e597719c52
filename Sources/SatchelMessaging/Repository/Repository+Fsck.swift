import SatchelManifest
import SatchelStore

/// Which manifests the refs of each namespace may name: the one table of ref namespaces
/// (docs/FORMAT.md, "Refs"). The store layer cannot read manifests, so the kind-and-vocabulary
/// check of every ref lives here, in ``Repository/fsck()``, on top of the store's own fsck.
///
/// Vocabularies are listed by namespace (`urn:satchel:<name>:<version>`), not by the version
/// this build writes, so that a new version of a vocabulary is added here next to the old one
/// (a store holds heads written by older and newer builds).
public enum RefVocabularies {
    /// Which manifests the refs of one namespace may name.
    public struct Rule: Sendable {
        /// Ref name prefix (`threads/`), or a whole name (`directory`) when `components` is 0.
        public var prefix: String
        /// Path components after the prefix (`threads/<thread>`: 1; `envelopes/<t>/<m>`: 2).
        public var components: Int
        /// Namespaces of the manifests such a ref may point at.
        public var allowed: Set<String>
    }

    /// Every ref namespace this build knows, with the manifest namespaces its refs may name.
    public static let rules: [Rule] = [
        Rule(prefix: "directory", components: 0, allowed: ["urn:satchel:directory:1"]),
        Rule(prefix: "directory-settings", components: 0, allowed: ["urn:satchel:directory:1"]),
        Rule(prefix: "contacts/", components: 1, allowed: ["urn:satchel:directory:1"]),
        Rule(prefix: "threads/", components: 1, allowed: ["urn:satchel:thread:1", "urn:satchel:thread:2"]),
        Rule(prefix: "envelopes/", components: 2, allowed: ["urn:satchel:envelope:1"]),
        Rule(prefix: "drafts/", components: 1, allowed: ["urn:satchel:draft:1", "urn:satchel:draftset:1"]),
        Rule(prefix: "outbox/", components: 1, allowed: ["urn:satchel:notification:1"]),
        Rule(prefix: "sync/peers/", components: 1, allowed: ["urn:satchel:checkpoint:1"]),
        Rule(prefix: "tokens/", components: 1, allowed: ["urn:satchel:token:1"]),
    ]

    /// The rule for a ref name; nil for a namespace this build does not know (left alone: a
    /// newer build may have added it).
    public static func rule(for ref: String) -> Rule? {
        for rule in rules {
            if rule.components == 0 {
                if ref == rule.prefix { return rule }
            } else if ref.hasPrefix(rule.prefix) {
                return rule
            }
        }
        return nil
    }
}

extension RefVocabularies {
    /// The root element's namespace of manifest bytes (the first `xmlns="…"` in the first 4 KiB),
    /// without parsing: enough to tell what kind of manifest a ref names before trusting it.
    public static func sniffNamespace(_ bytes: [UInt8]) -> String? {
        let head = bytes.prefix(4096)
        let marker = Array("xmlns=\"".utf8)
        guard head.count > marker.count else { return nil }
        var i = head.startIndex
        while i + marker.count <= head.endIndex {
            if head[i..<(i + marker.count)].elementsEqual(marker) {
                let start = i + marker.count
                guard let end = head[start...].firstIndex(of: 0x22) else { return nil }
                return String(decoding: head[start..<end], as: UTF8.self)
            }
            i += 1
        }
        return nil
    }

    /// Checks that `id` in `store` is a manifest that a ref named `ref` may point at; returns why
    /// not, or nil when it may (or the namespace is not one this build knows).
    public static func problem(ref: String, id: ObjectID, in store: ObjectStore) -> String? {
        guard let rule = rule(for: ref) else { return nil }
        if rule.components > 0,
           ref.dropFirst(rule.prefix.count).split(separator: "/", omittingEmptySubsequences: false).count != rule.components {
            return "ref \(ref) is not a valid name in \(rule.prefix)"
        }
        guard let (kind, bytes) = try? store.read(id, limit: 64 << 20) else { return "ref \(ref) names \(id), which cannot be read" }
        guard kind == .manifest, let namespace = sniffNamespace(bytes), rule.allowed.contains(namespace) else {
            return "ref \(ref) names \(id), which is not a manifest its namespace allows (\(rule.allowed.sorted().joined(separator: " or ")))"
        }
        return nil
    }
}

extension Repository {
    /// The store's fsck (objects, packs, refs, change log, symlinks) plus what only the
    /// messaging layer can check: every manifest decodes and validates against its schema, and
    /// every ref names a manifest of a vocabulary its namespace allows (``RefVocabularies``).
    public func fsck() throws -> FsckReport {
        var namespaces: [ObjectID: String] = [:]
        var report = try store.fsck { id, bytes in
            do {
                let manifest = try AnyManifest.decode(bytes, trust: .untrusted)
                namespaces[id] = manifest.vocabulary.namespace
                return nil
            } catch {
                return "\(error)"
            }
        }
        let reported = Set(report.problems.map(\.object))
        guard let refs = try? store.refs.list() else { return report }
        for (name, id) in refs {
            let ref = name.rawValue
            guard let rule = RefVocabularies.rule(for: ref) else { continue }
            if rule.components > 0 {
                let rest = ref.dropFirst(rule.prefix.count).split(separator: "/", omittingEmptySubsequences: false)
                if rest.count != rule.components {
                    report.problems.append(FsckProblem(kind: "bad-ref", object: ref,
                        detail: "not a valid name in \(rule.prefix) (expected \(rule.components) component(s) after it)"))
                    continue
                }
            }
            if let namespace = namespaces[id] {
                if !rule.allowed.contains(namespace) {
                    report.problems.append(FsckProblem(kind: "wrong-kind", object: ref,
                        detail: "points at \(id), a \(namespace) manifest; \(rule.prefix) refs name \(rule.allowed.sorted().joined(separator: " or "))"))
                }
            } else if !reported.contains(id.description), let info = try? store.info(id), info.kind != .manifest {
                report.problems.append(FsckProblem(kind: "wrong-kind", object: ref,
                    detail: "points at \(id), a \(info.kind) object, not a manifest"))
            }
        }
        return report
    }
}

import PropertyBased
import Testing
@testable import SatchelManifest
import SatchelTestSupport
import SatchelStore

/// decode(encode(x)) == x; encode(decode(bytes)) == bytes for canonical bytes; and noisy but
/// equivalent spellings of a document (attribute order, whitespace, quotes, prefixes, character
/// references, CDATA) decode to the same value and re-encode to the same bytes.
@Suite struct RoundTripPropertyTests {
    static let seeds = Gen<UInt64>.value(in: 0...UInt64.max)

    func check<M: Manifest>(_ value: M, seed: UInt64) throws {
        let canonical = try value.encoded()
        let decoded = try M.decode(canonical, trust: .untrusted)
        #expect(decoded == value)
        #expect(try decoded.encoded() == canonical)
        #expect(try M.decode(canonical, trust: .trusted) == value)

        let tree = try ManifestReader.read(canonical, trust: .trusted)
        for round in 0..<3 {
            let noisy = NoisyWriter.write(tree, seed: seed &+ UInt64(round))
            let variant = try M.decode(noisy, trust: .untrusted)
            #expect(variant == value, "variant: \(noisy.text)")
            #expect(try variant.encoded() == canonical)
            let variantID = try variant.objectID(), valueID = try value.objectID()
            #expect(variantID == valueID)
        }
    }

    @Test func storeConfig() async {
        await propertyCheck(count: 150, input: Manifests.store, Self.seeds) { try check($0, seed: $1) }
    }

    @Test func directory() async {
        await propertyCheck(count: 150, input: Manifests.directory, Self.seeds) { try check($0, seed: $1) }
    }

    @Test func thread() async {
        await propertyCheck(count: 150, input: Manifests.thread, Self.seeds) { try check($0, seed: $1) }
    }

    @Test func message() async {
        await propertyCheck(count: 150, input: Manifests.message, Self.seeds) { try check($0, seed: $1) }
    }

    @Test func envelope() async {
        await propertyCheck(count: 150, input: Manifests.envelope, Self.seeds) { try check($0, seed: $1) }
    }

    @Test func draft() async {
        await propertyCheck(count: 150, input: Manifests.draft, Self.seeds) { try check($0, seed: $1) }
    }

    @Test func draftTombstone() async {
        await propertyCheck(count: 100, input: Manifests.draftTombstone, Self.seeds) { try check($0, seed: $1) }
    }

    @Test func draftSet() async {
        await propertyCheck(count: 100, input: Manifests.draftSet, Self.seeds) { try check($0, seed: $1) }
    }

    /// A tombstone carries no content: a `state` next to a subject or body is refused.
    @Test func aTombstoneWithContentIsRefused() throws {
        let live = #"<draft xmlns="urn:satchel:draft:1" author="s1" id="d1" state="sent" updated="2026-05-01T10:00:00Z"><version/><subject>x</subject></draft>"#
        #expect(throws: ManifestError.self) { try DraftManifest.decode(Array(live.utf8)) }
        let one = #"<draftSet xmlns="urn:satchel:draftset:1" id="d1"><version object="sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"/></draftSet>"#
        #expect(throws: ManifestError.self) { try DraftSet.decode(Array(one.utf8)) }
        #expect(throws: ManifestError.self) { try DraftSet.decode(Array(one.utf8), trust: .trusted) }
    }

    /// Thread state built in any order (as merges on two replicas would) has one encoding.
    @Test func threadEncodingIgnoresInsertionOrder() async {
        await propertyCheck(count: 100, input: Manifests.thread, Self.seeds) { thread, seed in
            var rng = SplitMix64(seed: seed)
            let rebuilt = try ThreadManifest(id: thread.id, patient: thread.patient, subject: thread.subject,
                                             created: thread.created, firstMessage: thread.firstMessage,
                                             initialAllowReplies: thread.initialAllowReplies, version: thread.version,
                                             events: thread.events.shuffled(using: &rng))
            #expect(rebuilt == thread)
            let rebuiltBytes = try rebuilt.encoded(), threadBytes = try thread.encoded()
            #expect(rebuiltBytes == threadBytes)
        }
    }
}

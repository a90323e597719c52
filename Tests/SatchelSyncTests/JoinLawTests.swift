import Foundation
import PropertyBased
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SyncCheckKit
import Testing
@testable import SatchelSync

/// The join laws of thread merge, on heads that real replicas had: random histories of three
/// replicas (W1, W2, portal P; staff and patient replies, close, reopen, replies off/on, syncs,
/// bundles delivered late, twice or out of order) run on real stores (SyncCheckKit.World), every
/// head any replica held collected, and the laws asserted on whole encoded manifests.
/// (Heads built independently from one base, as the old generator did, are histories no set of
/// replicas can produce: one dot would name different edits.)
@Suite struct JoinLawTests {
    static let script = Gen.int(in: 0...999).array(of: 4...14)

    /// ThreadMerge.merge as a throwing function (it may throw on an identity mismatch).
    static let merge: @Sendable (ThreadManifest, ThreadManifest) throws -> ThreadManifest = ThreadMerge.merge

    @Test
    func mergeIsAJoinOnHeadsOfCausallyValidHistories() async {
        await propertyCheck(count: 6, input: Self.script) { choices in
            do { try Self.check(choices) } catch {
                Issue.record("a history or a merge failed: \(error)")
            }
        }
    }

    static func check(_ choices: [Int]) throws {
        let scratch = World.scratch("satchel-joinlaws")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: scratch + "/bundles", withIntermediateDirectories: true)
        let world = try World.create(at: scratch + "/w", names: Explorer.names, roles: Explorer.roles,
                                     bundleDir: scratch + "/bundles")
        var heads: [ObjectID: ThreadManifest] = [:]
        func collect() throws {
            for repo in world.repos {
                let (id, thread) = try repo.thread(world.model.thread)
                heads[id] = thread
            }
        }
        try collect()
        for choice in choices {
            let steps = world.enabledSteps(maxBundles: 3, maxDeliveries: 2)
            // Rule and convergence violations are the explorer's business; here only the laws.
            _ = world.perform(steps[choice % steps.count])
            try collect()
        }
        // At most 12 heads (sorted by ID: an arbitrary, reproducible pick), every triple of them.
        let all = heads.sorted { $0.key < $1.key }.prefix(12).map(\.value)
        for a in all {
            #expect(try merge(a, a).encoded() == a.encoded(), "merge(a, a) == a")
            for b in all {
                let ab = try merge(a, b), ba = try merge(b, a)
                #expect(try ab.encoded() == ba.encoded(), "merge(a, b) == merge(b, a)")
                for c in all {
                    let left = try merge(ab, c), right = try merge(a, try merge(b, c))
                    #expect(try left.encoded() == right.encoded(), "merge(merge(a, b), c) == merge(a, merge(b, c))")
                }
            }
        }
    }
}

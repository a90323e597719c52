import Crypto
import Foundation
import SatchelBackup
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelSync

/// Deterministic simulation: four workstations and a portal, random operations, partitions,
/// bundles duplicated, reordered and lost, a crash in the middle of an apply, a laptop lost and
/// restored from a backup under a new replica ID. Each history starts from a copy of one
/// template (a thread composed on W1 and synced everywhere) and ends with a full exchange and
/// the same invariants as the explorer. History i of a run with seed S uses seed S + i, so a
/// failure is replayed with `SyncSim --histories 1 --seed <printed seed>`.
public final class Simulator {
    public static let names = ["W1", "W2", "W3", "W4", "P"]
    public static let roles: [StoreConfig.Role] = [.workstation, .workstation, .workstation, .workstation, .portal]
    static let portal = 4
    /// Final exchange: every workstation with the portal, then again all but the last.
    static let exchange = [(0, 4), (1, 4), (2, 4), (3, 4), (0, 4), (1, 4), (2, 4)]

    public struct Report: Sendable {
        public var histories = 0
        public var steps = 0
        public var syncs = 0
        public var deliveries = 0
        public var crashes = 0
        public var restores = 0
        public var lostBundles = 0
        public var violations: [(seed: UInt64, violation: Violation)] = []
        public var seconds = 0.0
    }

    let scratch: String
    let template: World
    public var report = Report()
    var canonical: [String: String] = [:]
    public var maxSteps = 14
    /// Fewest steps per history (each history draws its length from minSteps...maxSteps).
    public var minSteps = 2

    public init() throws {
        scratch = World.scratch("satchel-syncsim")
        try FileManager.default.createDirectory(atPath: scratch + "/bundles", withIntermediateDirectories: true)
        template = try World.create(at: scratch + "/template", names: Self.names, roles: Self.roles,
                                    bundleDir: scratch + "/bundles")
    }

    deinit { try? FileManager.default.removeItem(atPath: scratch) }

    /// Runs `count` histories with seeds `seed`, `seed + 1`, ...
    public func run(histories count: Int, seed: UInt64, progress: ((Report) -> Void)? = nil) {
        let start = Date()
        for i in 0..<count {
            let historySeed = seed &+ UInt64(i)
            for violation in history(seed: historySeed) {
                report.violations.append((historySeed, violation))
            }
            report.histories += 1
            if (i + 1) % 100 == 0 {
                report.seconds = Date().timeIntervalSince(start)
                progress?(report)
            }
        }
        report.seconds = Date().timeIntervalSince(start)
    }

    /// One history. Returns its violations (empty: every invariant held).
    public func history(seed: UInt64) -> [Violation] {
        var rng = SplitMix64(seed: seed)
        let dir = scratch + "/h"
        World.removeTree(dir)
        defer {
            World.removeTree(dir)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: scratch + "/bundles")) ?? [] {
                try? FileManager.default.removeItem(atPath: scratch + "/bundles/" + name)
            }
        }
        let world: World
        do { world = try template.copy(to: dir) } catch {
            return [Violation(message: "cannot copy the template: \(error)", trace: [])]
        }
        let n = Self.names.count
        var group = Array(repeating: 0, count: n)  // partition: replicas talk only within a group
        var backup: (replica: Int, path: String, known: Set<String>)?
        var restored = false
        let length = Int.random(in: min(minSteps, maxSteps)...maxSteps, using: &rng)
        var found: [Violation] = []

        for _ in 0..<length where found.isEmpty {
            report.steps += 1
            let roll = Int.random(in: 0..<100, using: &rng)
            switch roll {
            case 0..<6:  // a partition appears, or heals
                if Bool.random(using: &rng) {
                    group = (0..<n).map { _ in Int.random(in: 0...1, using: &rng) }
                    world.model.trace.append("partition(\(group.map(String.init).joined()))")
                } else {
                    group = Array(repeating: 0, count: n)
                    world.model.trace.append("heal")
                }
            case 6..<9:  // a bundle is lost
                if !world.model.pending.isEmpty {
                    let i = Int.random(in: 0..<world.model.pending.count, using: &rng)
                    world.model.trace.append("lose(#\(i))")
                    world.model.pending.remove(at: i)
                    report.lostBundles += 1
                }
            case 9..<12:  // a crash in the middle of an apply, then the retry
                found += crashThenRetry(world, group: group, rng: &rng)
            case 12..<14:  // a backup of a workstation
                if backup == nil {
                    let r = Int.random(in: 0..<Self.portal, using: &rng)
                    let path = dir + "/backup-\(r).satchel-backup"
                    world.model.trace.append("backup(\(r))")
                    do {
                        try Backup.create(world.repos[r], to: path)
                        backup = (r, path, world.model.known[r])
                    } catch {
                        found.append(world.violation("backup of \(world.model.names[r]) failed: \(error)"))
                    }
                }
            case 14..<16:  // the backed-up laptop is lost and restored under a new replica ID
                if let b = backup, !restored {
                    restored = true
                    found += restore(world, b)
                    report.restores += 1
                }
            default:  // a user operation, a sync, a bundle made or delivered
                let pairs = (0..<n).flatMap { a in (a + 1..<n).map { (a, $0) } }.filter { group[$0.0] == group[$0.1] }
                var steps = world.enabledSteps(maxBundles: 6, maxDeliveries: 3, pairs: pairs)
                steps.removeAll {
                    if case .deliver(let i) = $0 {
                        let p = world.model.pending[i]
                        return group[p.from] != group[p.to] || p.orphaned
                    }
                    return false
                }
                let step = steps[Int.random(in: 0..<steps.count, using: &rng)]
                if case .sync = step { report.syncs += 1 }
                if case .deliver = step { report.deliveries += 1 }
                found += world.perform(step)
            }
        }
        if found.isEmpty {
            world.model.pending.removeAll()
            found += world.finalExchange(pairs: Self.exchange, canonical: &canonical)
        }
        return found
    }

    /// Applies a damaged copy of a pending bundle (the apply dies after staging): it must fail
    /// and change nothing; the whole bundle then applies.
    func crashThenRetry(_ world: World, group: [Int], rng: inout SplitMix64) -> [Violation] {
        let candidates = world.model.pending.indices.filter {
            let p = world.model.pending[$0]
            return group[p.from] == group[p.to] && !p.orphaned
        }
        guard let i = candidates.randomElement(using: &rng) else { return [] }
        report.crashes += 1
        let p = world.model.pending[i]
        world.model.trace.append("crash-apply(#\(i))")
        let target = world.repos[p.to]
        let before = stateOf(target)
        let torn = p.path + ".damaged"
        defer { try? FileManager.default.removeItem(atPath: torn) }
        guard let bytes = FileManager.default.contents(atPath: p.path) else {
            return [world.violation("bundle #\(i) vanished")]
        }
        // A damaged byte late in the (compressed) pack under a valid trailing checksum: the apply
        // opens the bundle, stages objects and dies part-way, before its ref commit.
        var damaged = [UInt8](bytes)
        let body = damaged.count - 32
        let at = body * Int.random(in: 60...97, using: &rng) / 100
        damaged[at] ^= 0x5A
        damaged.replaceSubrange(body..., with: Array(SHA256.hash(data: damaged[..<body])))
        guard FileManager.default.createFile(atPath: torn, contents: Data(damaged)) else {
            return [world.violation("cannot write a damaged copy of bundle #\(i)")]
        }
        if (try? SyncEngine(target).applyBundle(torn)) != nil {
            return [world.violation("a damaged bundle was applied")]
        }
        if stateOf(target) != before {
            return [world.violation("a failed apply changed \(world.model.names[p.to])'s refs or change log")]
        }
        // And a crash exactly before the commit, after every check has passed.
        struct SimulatedCrash: Error {}
        do {
            _ = try SyncEngine(target).applyBundle(p.path, beforeCommit: { throw SimulatedCrash() })
            return [world.violation("an apply whose commit hook threw reported success")]
        } catch is SimulatedCrash {
        } catch {
            return [world.violation("an apply crashed before its commit failed otherwise: \(error)")]
        }
        if stateOf(target) != before {
            return [world.violation("a failed apply changed \(world.model.names[p.to])'s refs or change log")]
        }
        return world.perform(.deliver(i))
    }

    /// Every ref and the change log's bytes: what an apply may change.
    func stateOf(_ repo: Repository) -> String {
        let refs = ((try? repo.store.refs.list()) ?? []).map { "\($0.name)=\($0.id)" }.joined(separator: ";")
        let log = FileManager.default.contents(atPath: repo.store.refs.changeLog.path) ?? Data()
        return refs + "|" + String(decoding: log, as: UTF8.self)
    }

    /// The laptop is lost: its store is gone with its unsent bundles; the backup is restored under
    /// a new replica ID and the model follows (events only it had are lost, legitimately).
    func restore(_ world: World, _ b: (replica: Int, path: String, known: Set<String>)) -> [Violation] {
        let r = b.replica
        let oldName = world.model.names[r]
        let newName = oldName + "r"
        world.model.trace.append("lose-and-restore(\(r))")
        world.model.pending.removeAll { $0.from == r || $0.to == r }
        var survivors = b.known
        for (i, known) in world.model.known.enumerated() where i != r { survivors.formUnion(known) }
        for p in world.model.pending { survivors.formUnion(p.carried) }
        world.model.lost.formUnion(world.model.acknowledged.subtracting(survivors))
        do {
            try FileManager.default.removeItem(atPath: world.dir + "/" + oldName)
            try Backup.restore(b.path, to: world.dir + "/" + newName, passphrase: nil)
            let repo = try Repository.open(at: world.dir + "/" + newName)
            if repo.replica == world.repos[r].replica {
                return [world.violation("the restored store kept the lost replica's ID")]
            }
            world.replace(r, with: repo, name: newName, known: b.known)
        } catch {
            return [world.violation("restore of \(oldName) failed: \(error)")]
        }
        return world.checkReplica(r)
    }
}

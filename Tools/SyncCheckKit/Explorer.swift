import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelSync

/// Exhaustive small-scope check: every history of three replicas (workstations W1, W2 and
/// portal P) up to `depth` steps, from one thread composed on W1 and synced to all, run on the
/// real engine. Depth-first, each node a copy of its parent's stores. A history that reaches an
/// abstract state (``World/stateKey()``) already explored with at least as many steps left is
/// pruned: everything below it was checked then. The count of histories stays exact: an
/// exploration with r steps left records how many histories of 0...r further steps start at
/// its state, so a later visit with fewer steps left reads its own count from that list. Every
/// explored state is checked after its step and again after a full exchange.
public struct Explorer {
    public struct Config: Sendable {
        public var depth: Int
        /// One-way bundles made per history, and how often each may be applied.
        public var maxBundles = 2
        public var maxDeliveries = 2
        /// Stop after this many violations (they are usually one bug seen many times).
        public var maxViolations = 20
        /// Step kinds explored (``Step/kind``); nil: all.
        public var kinds: Set<String>?

        public init(depth: Int) { self.depth = depth }
    }

    public struct Report: Sendable {
        /// States explored (each a history checked after its last step and after a full
        /// exchange). A state first reached with few steps left is explored again if it is
        /// reached later with more steps left.
        public var states = 0
        /// Distinct abstract states reached (``World/stateKey()``), the root included.
        public var distinct = 0
        /// Steps whose resulting state had already been explored with at least as many steps
        /// left (not explored again).
        public var pruned = 0
        /// Steps run on the real engine (including those whose state was then pruned).
        public var transitions = 0
        /// Histories (step sequences of length 0...depth) the explored states stand for.
        public var histories: UInt64 = 0
        /// Element k: the histories of at most k steps (the same run checked every one of them).
        public var historiesUpTo: [UInt64] = []
        public var violations: [Violation] = []
        public var seconds = 0.0
    }

    public let config: Config
    public var report = Report()
    /// Called after every 1,000 states explored and after each first step's subtree (then
    /// `report.histories` counts the histories of the subtrees done so far).
    public var progress: ((Report) -> Void)?
    var start = Date()
    /// State key → the number of histories of 0, 1, ..., r further steps from that state, for
    /// the most steps left (r) it has been explored with.
    var seen: [String: [UInt64]] = [:]
    var canonical: [String: String] = [:]
    var scratch = ""
    var nodes = 0

    public init(config: Config) { self.config = config }

    public static let names = ["W1", "W2", "P"]
    public static let roles: [StoreConfig.Role] = [.workstation, .workstation, .portal]
    public static let pairs = [(0, 2), (1, 2), (0, 1)]
    /// The full exchange: after these three syncs every replica has seen every event.
    public static let exchange = [(0, 2), (1, 2), (0, 2)]

    public mutating func run() throws -> Report {
        start = Date()
        scratch = World.scratch("satchel-synccheck")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let bundles = scratch + "/bundles"
        try FileManager.default.createDirectory(atPath: bundles, withIntermediateDirectories: true)
        let root = try World.create(at: scratch + "/root", names: Self.names, roles: Self.roles, bundleDir: bundles)
        report.historiesUpTo = explore(root, remaining: config.depth)
        report.histories = report.historiesUpTo[config.depth]
        report.distinct = seen.count + 1
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    /// Explores below `world` (consumed: its directory is gone afterwards) with `remaining`
    /// steps left. Returns, for k = 0...remaining, the number of histories of at most k further
    /// steps it stands for (its own history included).
    mutating func explore(_ world: World, remaining: Int) -> [UInt64] {
        report.states += 1
        if report.states % 1_000 == 0, let progress {
            report.seconds = Date().timeIntervalSince(start)
            report.distinct = seen.count + 1
            progress(report)
        }
        var histories = [UInt64](repeating: 1, count: remaining + 1)
        if remaining > 0 && report.violations.count < config.maxViolations {
            for step in world.enabledSteps(maxBundles: config.maxBundles, maxDeliveries: config.maxDeliveries)
            where config.kinds?.contains(step.kind) ?? true {
                nodes += 1
                let child: World
                do { child = try world.copy(to: scratch + "/n\(nodes)") } catch {
                    report.violations.append(Violation(message: "cannot copy stores: \(error)", trace: world.model.trace))
                    continue
                }
                report.transitions += 1
                let found = child.perform(step)
                if !found.isEmpty {
                    // A violating history ends at its step: one history, whatever the steps left.
                    report.violations += found
                    child.remove()
                    for k in 1...remaining { histories[k] += 1 }
                    continue
                }
                let key = child.stateKey()
                let below: [UInt64]
                if let known = seen[key], known.count >= remaining {
                    report.pruned += 1
                    child.remove()
                    below = known
                } else {
                    below = explore(child, remaining: remaining - 1)
                    if below.count > seen[key]?.count ?? 0 { seen[key] = below }
                }
                for k in 1...remaining { histories[k] += below[k - 1] }
                if remaining == config.depth, let progress {
                    report.histories = histories[remaining]
                    report.seconds = Date().timeIntervalSince(start)
                    report.distinct = seen.count + 1
                    progress(report)
                }
            }
        }
        // The node's own history, completed by a full exchange (on its stores: no copy needed).
        report.violations += world.finalExchange(pairs: Self.exchange, canonical: &canonical)
        world.remove()
        return histories
    }
}

import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelSync

/// Exhaustive small-scope check: every history of three replicas (workstations W1, W2 and
/// portal P) up to `depth` steps, from one thread composed on W1 and synced to all, run on the
/// real engine. Depth-first, each node a copy of its parent's stores; histories that reach an
/// abstract state already explored at the same depth are pruned (``World/stateKey()``). Every
/// distinct state is checked after its step and again after a full exchange.
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
        /// Distinct (state, depth) pairs explored: each a history checked after its last step and
        /// after a full exchange.
        public var states = 0
        /// Steps run on the real engine (including those whose state was then pruned).
        public var transitions = 0
        /// Histories (step sequences of length 0...depth) the explored states stand for.
        public var histories: UInt64 = 0
        public var violations: [Violation] = []
        public var seconds = 0.0
    }

    public let config: Config
    public var report = Report()
    var seen: [String: UInt64] = [:]  // state key + depth → histories from there
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
        let start = Date()
        scratch = World.scratch("satchel-synccheck")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let bundles = scratch + "/bundles"
        try FileManager.default.createDirectory(atPath: bundles, withIntermediateDirectories: true)
        let root = try World.create(at: scratch + "/root", names: Self.names, roles: Self.roles, bundleDir: bundles)
        report.histories = explore(root, depth: 0)
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    /// Explores below `world` (consumed: its directory is gone afterwards). Returns the number
    /// of histories it stands for.
    mutating func explore(_ world: World, depth: Int) -> UInt64 {
        report.states += 1
        var histories: UInt64 = 1
        if depth < config.depth && report.violations.count < config.maxViolations {
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
                    report.violations += found
                    child.remove()
                    histories += 1
                    continue
                }
                let key = child.stateKey() + "@\(depth + 1)"
                if let count = seen[key] {
                    child.remove()
                    histories += count
                    continue
                }
                let count = explore(child, depth: depth + 1)
                seen[key] = count
                histories += count
            }
        }
        // The node's own history, completed by a full exchange (on its stores: no copy needed).
        report.violations += world.finalExchange(pairs: Self.exchange, canonical: &canonical)
        world.remove()
        return histories
    }
}

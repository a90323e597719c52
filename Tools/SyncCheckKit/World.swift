#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelSync

/// One step of a history.
public enum Step: Hashable, Sendable, CustomStringConvertible {
    case staffReply(Int)
    case patientReply(Int)
    case close(Int)
    case reopen(Int)
    case repliesOff(Int)
    case repliesOn(Int)
    /// Two-way local exchange (`SyncEngine(a).sync(with: b)`).
    case sync(Int, Int)
    /// A one-way bundle made now by the first for the second, delivered later.
    case bundle(Int, Int)
    /// Applies pending bundle i (again, maybe).
    case deliver(Int)

    /// The step's kind, for restricting an exploration to some kinds.
    public var kind: String { String(description.prefix { $0 != "(" }) }

    public var description: String {
        switch self {
        case .staffReply(let r): "staffReply(\(r))"
        case .patientReply(let r): "patientReply(\(r))"
        case .close(let r): "close(\(r))"
        case .reopen(let r): "reopen(\(r))"
        case .repliesOff(let r): "repliesOff(\(r))"
        case .repliesOn(let r): "repliesOn(\(r))"
        case .sync(let a, let b): "sync(\(a),\(b))"
        case .bundle(let a, let b): "bundle(\(a)->\(b))"
        case .deliver(let i): "deliver(#\(i))"
        }
    }
}

/// A broken invariant: what, and the history that led to it.
public struct Violation: Sendable, CustomStringConvertible {
    public var message: String
    public var trace: [String]
    public var description: String { message + "\n    history: " + trace.joined(separator: " ") }
}

/// Real stores (one per replica, all in one directory, ideally on tmpfs) and the model beside
/// them. Every step runs on the real engine through its public API and is then checked.
public final class World {
    public static let directoryXML = """
        <directory xmlns="urn:satchel:directory:1">
          <settings defaultAllowReplies="true">
            <notificationTemplate id="e" channel="email">New secure message: {{link}}</notificationTemplate>
          </settings>
          <staff id="s1" name="Dr. Ada Shaw"><permission name="sendBulkPortalMessage"/></staff>
          <staff id="s2" name="Nurse Ben Okafor"/>
          <patient id="p1" name="Rosa Diaz" status="active" email="rosa@example.org" cell="+15550100" portalAccess="true"/>
          <portalUser id="u1" patient="p1" role="patient" active="true" name="Rosa Diaz"/>
        </directory>
        """

    /// A fresh scratch directory: on /dev/shm when there is one (fsync is cheap on tmpfs).
    public static func scratch(_ prefix: String) -> String {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()
        let path = base + prefix + "-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    public let dir: String
    public var model: Model
    public private(set) var repos: [Repository]
    /// Where pending bundles live (shared by copies of a world: bundle files never change).
    public let bundleDir: String

    init(dir: String, model: Model, repos: [Repository], bundleDir: String) {
        self.dir = dir
        self.model = model
        self.repos = repos
        self.bundleDir = bundleDir
    }

    /// Creates `roles.count` stores named `names`, composes one thread on replica 0 and syncs it
    /// to every other replica.
    public static func create(at dir: String, names: [String], roles: [StoreConfig.Role], bundleDir: String) throws -> World {
        var repos: [Repository] = []
        for (name, role) in zip(names, roles) {
            let repo = try Repository.create(at: dir + "/" + name, role: role,
                                             portalURL: role == .portal ? "https://portal.example.org" : nil)
            try repo.importDirectory(Array(directoryXML.utf8))
            repos.append(repo)
        }
        var model = Model(names: names)
        for (r, repo) in repos.enumerated() { model.replicaNames[repo.replica] = names[r] }
        let world = World(dir: dir, model: model, repos: repos, bundleDir: bundleDir)
        var request = ComposeRequest(author: "s1")
        request.patient = "p1"
        request.subject = "Lab results"
        request.body = .text("Your results are ready.")
        let sent = try repos[0].send(request, now: world.tick()).threads[0]
        world.model.thread = sent.thread
        let id = world.model.write(.compose, on: 0)
        world.model.labels[sent.message] = id
        world.model.acknowledged.insert(id)
        // Spread it: a star around the first portal (or replica 1), then back.
        let hub = roles.firstIndex(of: .portal) ?? 1
        for r in repos.indices where r != hub { try world.syncModel(r, hub) }
        for r in repos.indices where r != hub { try world.syncModel(r, hub) }
        for r in repos.indices { _ = world.checkReplica(r) }
        return world
    }

    /// Opens the stores of a copied world directory.
    public static func open(at dir: String, model: Model, bundleDir: String) throws -> World {
        let repos = try model.names.map { try Repository.open(at: dir + "/" + $0) }
        return World(dir: dir, model: model, repos: repos, bundleDir: bundleDir)
    }

    /// A copy of every store (and the model) in `dir` (see ``copyStore(_:to:)``).
    public func copy(to target: String) throws -> World {
        let fm = FileManager.default
        if !fm.fileExists(atPath: target) { try fm.createDirectory(atPath: target, withIntermediateDirectories: true) }
        for name in model.names { try Self.copyStore(dir + "/" + name, to: target + "/" + name) }
        return try World.open(at: target, model: model, bundleDir: bundleDir)
    }

    /// Copies a store directory for a harness (both copies are then written independently).
    /// Files under `objects/` and `packs/` are hard-linked: they are content-addressed and the
    /// store never opens an existing one for writing (it creates each under a temporary name
    /// and publishes it with a rename; gc unlinks), so a link is as good as a copy and skips
    /// most of the copying. Every other file (refs, the change log, which is appended in place,
    /// config, journals) is copied byte for byte.
    public static func copyStore(_ source: String, to target: String) throws {
        try copyTree(source, to: target, link: false)
    }

    static func copyTree(_ source: String, to target: String, link: Bool) throws {
        guard mkdir(target, 0o755) == 0 else { throw copyError("mkdir", target) }
        guard let dir = opendir(source) else { throw copyError("opendir", source) }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name == "." || name == ".." { continue }
            let from = source + "/" + name, to = target + "/" + name
            var info = stat()
            guard lstat(from, &info) == 0 else { throw copyError("lstat", from) }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                try copyTree(from, to: to, link: link || name == "objects" || name == "packs")
            case S_IFREG:
                if link {
                    guard Glibc.link(from, to) == 0 else { throw copyError("link", from) }
                } else {
                    try copyFile(from, to: to, mode: info.st_mode & 0o7777)
                }
            default:
                throw SyncError(.refused, "unexpected file type in a store: \(from)")
            }
        }
    }

    static func copyFile(_ source: String, to target: String, mode: mode_t) throws {
        let input = Glibc.open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw copyError("open", source) }
        defer { Glibc.close(input) }
        let output = Glibc.open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard output >= 0 else { throw copyError("create", target) }
        defer { Glibc.close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress, $0.count) }
            if n == 0 { break }
            guard n > 0 else { throw copyError("read", source) }
            let written = buffer.withUnsafeBytes { Glibc.write(output, $0.baseAddress, n) }
            guard written == n else { throw copyError("write", target) }
        }
    }

    static func copyError(_ what: String, _ path: String) -> SyncError {
        SyncError(.refused, "copy: \(what) \(path) failed (errno \(errno))")
    }

    public func remove() { Self.removeTree(dir) }

    /// Removes a directory tree (best effort, like `FileManager.removeItem` but with fewer
    /// system calls: the harness removes a world after every explored state).
    public static func removeTree(_ path: String) {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafePointer(to: entry.pointee.d_name) {
                    String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
                }
                if name == "." || name == ".." { continue }
                let child = path + "/" + name
                if entry.pointee.d_type == UInt8(DT_DIR) { removeTree(child) } else if unlink(child) != 0 {
                    var info = stat()
                    if lstat(child, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR { removeTree(child) }
                }
            }
            closedir(dir)
        }
        rmdir(path)
    }

    /// Replica r is now `repo` (a restore under a new replica ID): a new model name, so its new
    /// events get new IDs, and what it holds is `known`.
    public func replace(_ r: Int, with repo: Repository, name: String, known: Set<String>) {
        repos[r] = repo
        model.names[r] = name
        model.replicaNames[repo.replica] = name
        model.counters[r] = 0
        model.known[r] = known
    }

    func tick() -> Timestamp {
        model.clock += 1
        return Timestamp(millisecondsSinceEpoch: 1_800_000_000_000 + model.clock * 1000)
    }

    public func isPortal(_ r: Int) -> Bool { repos[r].isPortal }

    /// The steps a user could take now. Flag edits only where they change what the replica
    /// shows; a patient replies only on a portal whose thread is open with replies on.
    public func enabledSteps(maxBundles: Int, maxDeliveries: Int, pairs: [(Int, Int)]? = nil) -> [Step] {
        var steps: [Step] = []
        let n = repos.count
        for r in 0..<n {
            steps.append(.staffReply(r))
            let shown = model.observed[r]
            if isPortal(r), !shown.closed, shown.allowReplies { steps.append(.patientReply(r)) }
            steps.append(shown.closed ? .reopen(r) : .close(r))
            steps.append(shown.allowReplies ? .repliesOff(r) : .repliesOn(r))
        }
        let syncPairs = pairs ?? (0..<n).flatMap { a in (a + 1..<n).map { (a, $0) } }
        for (a, b) in syncPairs { steps.append(.sync(a, b)) }
        if model.bundlesMade < maxBundles {
            for (a, b) in syncPairs { steps.append(.bundle(a, b)); steps.append(.bundle(b, a)) }
        }
        for (i, p) in model.pending.enumerated() where p.deliveries < maxDeliveries { steps.append(.deliver(i)) }
        return steps
    }

    // MARK: Steps

    /// Runs one step on the real engine and checks what it touched. Returns the violations.
    public func perform(_ step: Step) -> [Violation] {
        model.trace.append(step.description)
        var touched: [Int] = []
        do {
            switch step {
            case .staffReply(let r):
                let written = try repos[r].reply(thread: model.thread, as: "s2", body: .text("staff note"), now: tick())
                record(.staffReply, on: r, message: written.message)
                touched = [r]
            case .patientReply(let r):
                // The oracle first: a patient may reply only if the events the portal has seen allow it.
                let allowed = Oracle.flags(model.known[r], model.events)
                let written: (thread: String, message: String)
                do {
                    written = try repos[r].reply(thread: model.thread, as: "u1", body: .text("patient reply"), now: tick())
                } catch {
                    return [violation("the portal showed the thread open with replies on, but the patient's reply was refused: \(error)")]
                }
                if allowed.closed || !allowed.allowReplies {
                    record(.patientReply, on: r, message: written.message)
                    return [violation("a patient reply was accepted on \(model.names[r]) although the events it had seen say \(allowed)")]
                }
                record(.patientReply, on: r, message: written.message)
                touched = [r]
            case .close(let r):
                try repos[r].close(thread: model.thread, as: "s1", now: tick())
                _ = model.write(.close, on: r)
                touched = [r]
            case .reopen(let r):
                try repos[r].reopen(thread: model.thread, as: "s1", now: tick())
                _ = model.write(.reopen, on: r)
                touched = [r]
            case .repliesOff(let r):
                try repos[r].setReplies(false, thread: model.thread, as: "s1", now: tick())
                _ = model.write(.repliesOff, on: r)
                touched = [r]
            case .repliesOn(let r):
                try repos[r].setReplies(true, thread: model.thread, as: "s1", now: tick())
                _ = model.write(.repliesOn, on: r)
                touched = [r]
            case .sync(let a, let b):
                do { try syncModel(a, b) } catch {
                    return [violation("sync \(model.names[a])<->\(model.names[b]) failed: \(error)")]
                }
                touched = [a, b]
            case .bundle(let a, let b):
                let path = bundleDir + "/" + UUID().uuidString + ".bundle"
                do {
                    _ = try SyncEngine(repos[a]).createBundle(for: repos[b].replica, targetRole: repos[b].role, to: path)
                } catch {
                    return [violation("bundle \(model.names[a])->\(model.names[b]) could not be made: \(error)")]
                }
                model.pending.append(PendingBundle(path: path, from: a, to: b, carried: model.known[a]))
                model.bundlesMade += 1
            case .deliver(let i):
                model.pending[i].deliveries += 1
                let p = model.pending[i]
                do {
                    let result = try SyncEngine(repos[p.to]).applyBundle(p.path)
                    // Quarantine is for faulty peers only; nothing legitimate is quarantined.
                    if !result.quarantined.isEmpty { return [violation("apply quarantined \(result.quarantined)")] }
                } catch {
                    return [violation("applying bundle #\(i) \(model.names[p.from])->\(model.names[p.to]) (delivery \(p.deliveries)) failed: \(error)")]
                }
                model.known[p.to].formUnion(p.carried)
                touched = [p.to]
            }
        } catch {
            return [violation("step \(step) failed: \(error)")]
        }
        return touched.flatMap { checkReplica($0) }
    }

    func record(_ kind: Event.Kind, on r: Int, message: String) {
        let id = model.write(kind, on: r)
        model.labels[message] = id
        model.acknowledged.insert(id)
    }

    /// A two-way sync, with the model following: afterwards both have seen the union.
    func syncModel(_ a: Int, _ b: Int) throws {
        let result = try SyncEngine(repos[a]).exchange(with: repos[b])
        guard result.quarantined.isEmpty else {
            throw SyncError(.refused, "a legitimate sync quarantined \(result.quarantined.count) message(s)")
        }
        let union = model.known[a].union(model.known[b])
        model.known[a] = union
        model.known[b] = union
    }

    public func violation(_ message: String) -> Violation { Violation(message: message, trace: model.trace) }

    /// What replica r's own view shows must be what its events imply: the flags, and exactly
    /// the messages it has seen (none missing, none unknown).
    public func checkReplica(_ r: Int) -> [Violation] {
        let view: ThreadView
        do { view = try repos[r].threadView(model.thread) } catch {
            return [violation("\(model.names[r]) cannot show the thread: \(error)")]
        }
        let shown = Flags(closed: view.summary.status == .closed, allowReplies: view.summary.allowReplies)
        model.observed[r] = shown
        var found: [Violation] = []
        let expected = Oracle.flags(model.known[r], model.events)
        if shown != expected {
            found.append(violation("\(model.names[r]) shows \(shown) but the events it has seen imply \(expected)"))
        }
        // Nothing legitimate is ever quarantined.
        if !view.quarantined.isEmpty { found.append(violation("\(model.names[r]) quarantined \(view.quarantined.count) message(s)")) }
        var labels = Set<String>()
        for message in view.messages {
            guard let label = model.labels[message.message] else {
                found.append(violation("\(model.names[r]) shows message \(message.message) that no step wrote"))
                continue
            }
            labels.insert(label)
        }
        let expectedMessages = Oracle.messages(model.known[r], model.events)
        if labels != expectedMessages {
            found.append(violation("\(model.names[r]) shows messages \(labels.sorted()) but has seen \(expectedMessages.sorted())"))
        }
        return found
    }

    // MARK: State key

    /// The abstract state: the model (events each replica has seen, bundles in flight, what
    /// each shows) and each store's change-log position and checkpoints (the part of the
    /// engine's state that decides what later bundles carry). Histories that reach the same key
    /// behave the same from there on.
    public func stateKey() -> String {
        var parts: [String] = []
        parts.append(Oracle.describe(model.union.union(model.pending.reduce(into: Set<String>()) { $0.formUnion($1.carried) }), model.events))
        for r in repos.indices {
            parts.append("\(model.names[r])=\(model.known[r].sorted().joined(separator: ","))|\(model.observed[r])")
            parts.append(engineState(r))
        }
        for p in model.pending {
            parts.append("b\(p.from)>\(p.to):\(p.carried.sorted().joined(separator: ","))#\(p.deliveries)")
        }
        parts.append("made=\(model.bundlesMade)")
        return parts.joined(separator: "\n")
    }

    func engineState(_ r: Int) -> String {
        let repo = repos[r]
        var text = "seq=" + ((try? String(repo.store.refs.changeLog.lastSequence())) ?? "?")
        for (other, peer) in repos.enumerated() where other != r {
            guard let name = try? RefName("sync/peers/" + peer.replica), let id = try? repo.store.refs.read(name) else {
                text += " \(other):-"
                continue
            }
            if let checkpoint = try? repo.load(PeerCheckpoint.self, id) {
                text += " \(other):r\(checkpoint.received?.sequence ?? 0)d\(checkpoint.delivered?.sequence ?? 0)"
            } else {
                text += " \(other):\(id)"  // an unknown format: no two states merge on it
            }
        }
        return text
    }

    // MARK: Final exchange

    /// Pairwise syncs until every replica holds the same bytes (at most `rounds` rounds of
    /// every pair in `pairs`), then the end-state invariants. `canonical` maps a set of events
    /// to the first end state seen for it: every other delivery order must end the same.
    public func finalExchange(pairs: [(Int, Int)], rounds: Int = 2, canonical: inout [String: String]) -> [Violation] {
        model.trace.append("| full exchange")
        var converged = false
        for _ in 0..<rounds {
            for (a, b) in pairs {
                do { try syncModel(a, b) } catch {
                    return [violation("final exchange: sync \(model.names[a])<->\(model.names[b]) failed: \(error)")]
                }
            }
            do {
                if try headsIdentical() { converged = true; break }
            } catch {
                return [violation("final exchange: cannot read heads: \(error)")]
            }
        }
        var found: [Violation] = []
        if !converged {
            found.append(violation("after the full exchange the replicas' thread heads still differ: \(headSummary())"))
        }
        for r in repos.indices { found += checkReplica(r) }
        let all = model.union
        let missing = model.acknowledged.subtracting(model.lost).subtracting(Oracle.messages(all, model.events))
        if !missing.isEmpty { found.append(violation("acknowledged messages missing: \(missing.sorted())")) }
        for r in repos.indices where model.known[r] != all {
            found.append(violation("\(model.names[r]) has not seen every event after the full exchange"))
        }
        // Same set of events, same end state, whatever the delivery order.
        if let view = try? repos[0].threadView(model.thread) {
            let labels = view.messages.compactMap { model.labels[$0.message] }.sorted()
            // Version vectors by model name: a restore draws a random replica ID, and two
            // histories with the same events must not differ by it.
            let version = view.summary.version.map { (model.replicaNames[$0.key] ?? String($0.key.prefix(6)), $0.value) }
            let end = "\(model.observed[0]) v=\(version.sorted { $0.0 < $1.0 }.map { "\($0.0):\($0.1)" }) m=\(labels)"
            let key = Oracle.describe(all, model.events)
            if let first = canonical[key] {
                if first != end {
                    found.append(violation("same events, different end state: \(end) here, \(first) in the first order seen"))
                }
            } else {
                canonical[key] = end
            }
        }
        return found
    }

    /// Every replica's thread refs point at the same objects, and those objects' bytes are equal.
    public func headsIdentical() throws -> Bool {
        var first: [String: [UInt8]]?
        for repo in repos {
            var heads: [String: [UInt8]] = [:]
            for (name, id) in try repo.store.refs.list(prefix: "threads/") {
                heads[name.rawValue] = Array(id.description.utf8) + [0] + (try repo.store.read(id).bytes)
            }
            if let first, first != heads { return false }
            first = heads
        }
        return true
    }

    func headSummary() -> String {
        repos.indices.map { r in
            let heads = (try? repos[r].store.refs.list(prefix: "threads/").map { $0.id.short }) ?? []
            return "\(model.names[r])=\(heads.joined(separator: ","))"
        }.joined(separator: " ")
    }
}

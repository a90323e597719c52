// CrashCampaign: runs real `satchel` processes and stops them with SIGKILL at random moments,
// or flips bits in and cuts files of stores, bundles and backups, then checks what issue #12
// asks for. See docs/RELIABILITY.md for the figures of record.
//
//   CrashCampaign crash   [--trials N] [--seed S] [--satchel PATH] [--keep]
//   CrashCampaign corrupt [--trials N] [--seed S] [--satchel PATH] [--keep]
//
// crash: each trial copies a prepared clinic (a workstation with one acknowledged thread, a
// peer, a bundle from the peer, a backup), runs one of compose, bulk send, reply, close, gc,
// bundle apply, sync, backup create, restore, and kills it: either by `SATCHEL_FAULT=op=any,
// nth=K,errno=kill` (SIGKILL at the K-th write/fsync/rename/link/directory sync, K ≤ 60) or by
// SIGKILL after a random delay (≤ 200 ms). Then: `fsck` must exit 0 on every store; if the killed command had
// exited 0, its effect must be present; a retry must exit 0 and leave fsck clean.
//
// corrupt: each trial damages one random file of a store (fsck must exit 1, and gc must not
// remove any reachable object: the acknowledged thread still reads after a repair-free gc
// attempt), a bundle (verify and apply must exit 65, the store unchanged), or a backup
// (verify must exit 1 or 65).
//
// Exit status 0 when every trial passed; the seed of each failing trial is printed so it can be
// replayed with --trials 1 --seed S.
import Foundation

struct Options {
    var mode = "crash"
    var trials = 100
    var seed: UInt64 = UInt64(Date().timeIntervalSince1970)
    var satchel: String?
    var keep = false
}

func parseOptions() -> Options {
    var options = Options()
    var args = Array(CommandLine.arguments.dropFirst())
    if let first = args.first, !first.hasPrefix("-") { options.mode = first; args.removeFirst() }
    var i = 0
    while i < args.count {
        let value = i + 1 < args.count ? args[i + 1] : ""
        switch args[i] {
        case "--trials": options.trials = Int(value) ?? options.trials; i += 1
        case "--seed": options.seed = UInt64(value) ?? options.seed; i += 1
        case "--satchel": options.satchel = value; i += 1
        case "--keep": options.keep = true
        default:
            FileHandle.standardError.write(Data("unknown argument \(args[i])\n".utf8))
            exit(64)
        }
        i += 1
    }
    return options
}

/// SplitMix64: small, seedable, reproducible.
struct Random {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
}

struct Outcome {
    var status: Int32
    var killed: Bool
    var stdout: String
    var stderr: String
}

final class Runner {
    let satchel: String
    init(satchel: String) { self.satchel = satchel }

    /// Runs satchel; with `killAfter`, sends SIGKILL after that many seconds if still running.
    func run(_ args: [String], fault: String? = nil, killAfter: Double? = nil) -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: satchel)
        process.arguments = args
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "SATCHEL_STORE")
        env.removeValue(forKey: "SATCHEL_FAULT")
        if let fault { env["SATCHEL_FAULT"] = fault }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch { return Outcome(status: -1, killed: false, stdout: "", stderr: "\(error)") }
        if let killAfter {
            // satchel prints little, so the pipes cannot fill while we wait here.
            let deadline = Date().addingTimeInterval(killAfter)
            while process.isRunning && Date() < deadline { usleep(2000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let killed = process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
        return Outcome(status: process.terminationStatus, killed: killed,
                       stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}

let directoryXML = """
    <directory xmlns="urn:satchel:directory:1">
      <settings defaultAllowReplies="true">
        <notificationTemplate id="e" channel="email">New secure message: {{link}}</notificationTemplate>
      </settings>
      <staff id="s1" name="Dr. Ada Shaw"><permission name="sendBulkPortalMessage"/></staff>
      <staff id="s2" name="Nurse Ben Okafor"/>
      <patient id="p1" name="Rosa Diaz" status="active" email="rosa@example.org" portalAccess="true"/>
      <patient id="p2" name="Sam Lee" status="active" email="sam@example.org" portalAccess="true"/>
      <patient id="p3" name="Ida Moss" status="active" email="ida@example.org" portalAccess="true"/>
      <portalUser id="u1" patient="p1" role="patient" active="true" name="Rosa Diaz"/>
      <portalUser id="u2" patient="p2" role="patient" active="true" name="Sam Lee"/>
      <portalUser id="u3" patient="p3" role="patient" active="true" name="Ida Moss"/>
    </directory>
    """

enum SetupError: Error { case failed(String) }

/// The prepared clinic every trial copies.
struct Template {
    let root: String
    let thread: String
    let peerReplica: String

    init(runner: Runner, root: String) throws {
        self.root = root
        let fm = FileManager.default
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        func must(_ args: [String]) throws -> Outcome {
            let o = runner.run(args)
            guard o.status == 0 else { throw SetupError.failed("\(args.joined(separator: " ")): \(o.status) \(o.stderr)") }
            return o
        }
        _ = fm.createFile(atPath: root + "/directory.xml", contents: Data(directoryXML.utf8))
        _ = fm.createFile(atPath: root + "/scan.pdf", contents: Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ ($0 >> 7)) }))
        _ = fm.createFile(atPath: root + "/big.txt", contents: Data(String(repeating: "Lab results follow. ", count: 100_000).utf8))
        for name in ["ws", "peer"] {
            _ = try must(["init", root + "/" + name, "--role", "workstation"])
            _ = try must(["directory", "import", root + "/directory.xml", "--store", root + "/" + name])
        }
        let sent = try must(["compose", "--store", root + "/ws", "--as", "s1", "--to", "u1", "--subject", "Before",
                             "--body", "Acknowledged before any crash.", "--send", "--json"])
        let json = try JSONSerialization.jsonObject(with: Data(sent.stdout.utf8)) as? [String: Any]
        guard let thread = ((json?["threads"] as? [[String: Any]])?.first?["thread"]) as? String else {
            throw SetupError.failed("compose printed no thread")
        }
        self.thread = thread
        _ = try must(["compose", "--store", root + "/peer", "--as", "s2", "--to", "u2", "--subject", "From the peer",
                      "--body", "A peer's message.", "--send"])
        let stats = try must(["stats", "--store", root + "/ws", "--json"])
        let wsReplica = ((try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])?["replica"] as? String) ?? ""
        let peerStats = try must(["stats", "--store", root + "/peer", "--json"])
        peerReplica = ((try JSONSerialization.jsonObject(with: Data(peerStats.stdout.utf8)) as? [String: Any])?["replica"] as? String) ?? ""
        // The bundle comes from a third store: creating a bundle moves the sender's checkpoint,
        // and `peer` must not believe `ws` has its thread before the sync trial.
        _ = try must(["init", root + "/origin", "--role", "workstation"])
        _ = try must(["directory", "import", root + "/directory.xml", "--store", root + "/origin"])
        _ = try must(["compose", "--store", root + "/origin", "--as", "s2", "--to", "u3", "--subject", "From the origin",
                      "--body", "An origin's message.", "--send"])
        _ = try must(["bundle", "create", "--store", root + "/origin", "--for", wsReplica, "--role", "workstation",
                      "-o", root + "/peer.bundle"])
        _ = try must(["backup", "create", "--store", root + "/ws", "-o", root + "/ws.backup"])
    }

    func copy(to dir: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in ["ws", "peer"] { try fm.copyItem(atPath: root + "/" + name, toPath: dir + "/" + name) }
    }
}

struct Operation {
    var name: String
    var args: (_ t: Template, _ dir: String) -> [String]
    /// Exit codes a retry may give besides 0 (the first attempt finished before the kill).
    var retryAlso: Set<Int32> = []
    /// The effect is present (checked after an exit 0).
    var check: (_ t: Template, _ dir: String, _ runner: Runner) -> Bool
}

func threadCount(_ runner: Runner, _ store: String) -> Int {
    let o = runner.run(["thread", "list", "--store", store, "--json"])
    guard o.status == 0, let json = try? JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any] else { return -1 }
    return (json["threads"] as? [Any])?.count ?? -1
}

func threadShow(_ runner: Runner, _ store: String, _ thread: String) -> [String: Any]? {
    let o = runner.run(["thread", "show", thread, "--store", store, "--json"])
    guard o.status == 0 else { return nil }
    return try? JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any]
}

let operations: [Operation] = [
    Operation(name: "compose", args: { t, d in
        ["compose", "--store", d + "/ws", "--as", "s1", "--to", "u1", "--subject", "New", "--body-file", t.root + "/big.txt",
         "--attach", t.root + "/scan.pdf", "--send"]
    }, check: { _, d, r in threadCount(r, d + "/ws") >= 2 }),
    Operation(name: "bulk", args: { _, d in
        ["compose", "--store", d + "/ws", "--as", "s1", "--bulk", "active-patients", "--subject", "Clinic closed",
         "--body", "The clinic is closed on Monday.", "--send"]
    }, check: { _, d, r in threadCount(r, d + "/ws") >= 4 }),
    Operation(name: "reply", args: { t, d in
        ["reply", t.thread, "--store", d + "/ws", "--as", "s2", "--body", "A reply.", "--attach", t.root + "/scan.pdf"]
    }, check: { t, d, r in ((threadShow(r, d + "/ws", t.thread)?["messages"] as? [Any])?.count ?? 0) >= 2 }),
    Operation(name: "close", args: { t, d in ["thread", "close", t.thread, "--store", d + "/ws", "--as", "s1"] },
              check: { t, d, r in (threadShow(r, d + "/ws", t.thread)?["status"] as? String) == "closed" }),
    Operation(name: "gc", args: { _, d in ["gc", "--store", d + "/ws", "--grace-hours", "0"] },
              check: { t, d, r in threadShow(r, d + "/ws", t.thread) != nil }),
    Operation(name: "apply", args: { t, d in ["bundle", "apply", t.root + "/peer.bundle", "--store", d + "/ws"] },
              check: { _, d, r in threadCount(r, d + "/ws") == 2 }),
    Operation(name: "sync", args: { _, d in ["sync", d + "/peer", "--store", d + "/ws"] },
              check: { _, d, r in threadCount(r, d + "/ws") == 2 && threadCount(r, d + "/peer") == 2 }),
    Operation(name: "backup", args: { _, d in ["backup", "create", "--store", d + "/ws", "-o", d + "/new.backup"] },
              retryAlso: [73],
              check: { _, d, r in r.run(["backup", "verify", d + "/new.backup"]).status == 0 }),
    Operation(name: "restore", args: { t, d in ["backup", "restore", t.root + "/ws.backup", d + "/restored"] },
              retryAlso: [73],
              check: { t, d, r in threadShow(r, d + "/restored", t.thread) != nil }),
]

func fsckClean(_ runner: Runner, _ dir: String) -> (Bool, String) {
    for name in ["ws", "peer", "restored"] where FileManager.default.fileExists(atPath: dir + "/" + name + "/config.xml") {
        let o = runner.run(["fsck", "--store", dir + "/" + name])
        if o.status != 0 { return (false, "fsck \(name) exit \(o.status): \(o.stdout.suffix(400)) \(o.stderr.suffix(200))") }
    }
    return (true, "")
}

@MainActor func crashTrial(_ runner: Runner, _ template: Template, _ dir: String, _ rng: inout Random) -> (String, String?) {
    let operation = operations[rng.below(operations.count)]
    do { try template.copy(to: dir) } catch { return (operation.name, "setup: \(error)") }
    let args = operation.args(template, dir)
    let byFault = rng.below(2) == 0
    let outcome: Outcome
    let how: String
    if byFault {
        let nth = 1 + rng.below(60)
        how = "fault kill at point \(nth)"
        outcome = runner.run(args, fault: "op=any,nth=\(nth),errno=kill")
    } else {
        let delay = Double(rng.below(200)) / 1000
        how = "SIGKILL after \(Int(delay * 1000)) ms"
        outcome = runner.run(args, killAfter: delay)
    }
    let label = "\(operation.name), \(how)"
    if outcome.killed { killedTrials += 1 }
    if !outcome.killed && outcome.status != 0 {
        return (label, "exit \(outcome.status) without a kill: \(outcome.stderr.prefix(300))")
    }
    // Anything acknowledged (exit 0) must be fully present, and the acknowledged thread always.
    if outcome.status == 0 && !outcome.killed && !operation.check(template, dir, runner) {
        return (label, "acknowledged (exit 0) but its effect is missing")
    }
    let (clean, why) = fsckClean(runner, dir)
    if !clean { return (label, "after the kill: \(why)") }
    if threadShow(runner, dir + "/ws", template.thread) == nil {
        return (label, "the thread acknowledged before the kill is unreadable")
    }
    let retry = runner.run(operation.args(template, dir))
    if retry.status != 0 && !operation.retryAlso.contains(retry.status) {
        return (label, "retry exit \(retry.status): \(retry.stderr.prefix(300))")
    }
    if !operation.check(template, dir, runner) { return (label, "retry done but the effect is missing") }
    let (cleanAfter, whyAfter) = fsckClean(runner, dir)
    if !cleanAfter { return (label, "after the retry: \(whyAfter)") }
    return (label, nil)
}

/// Flips a random bit or cuts a random file among `files`; returns what it did.
func damage(_ files: [String], _ rng: inout Random) -> String? {
    let candidates = files.filter { ((try? FileManager.default.attributesOfItem(atPath: $0))?[.size] as? Int ?? 0) > 0 }
    guard !candidates.isEmpty else { return nil }
    let path = candidates[rng.below(candidates.count)]
    guard var data = FileManager.default.contents(atPath: path) else { return nil }
    let size = data.count
    let cut = rng.below(4) == 0
    if cut {
        let length = rng.below(size)
        data = data.prefix(length)
        try? FileManager.default.removeItem(atPath: path)
        _ = FileManager.default.createFile(atPath: path, contents: data)
        return "\(path) cut from \(size) to \(length) bytes"
    }
    let offset = rng.below(size)
    let bit = UInt8(1) << UInt8(rng.below(8))
    data[offset] ^= bit
    try? FileManager.default.removeItem(atPath: path)
    _ = FileManager.default.createFile(atPath: path, contents: data)
    return "\(path) bit \(bit) at offset \(offset) of \(size)"
}

func files(under root: String) -> [String] {
    var result: [String] = []
    let enumerator = FileManager.default.enumerator(atPath: root)
    while let rel = enumerator?.nextObject() as? String {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: root + "/" + rel, isDirectory: &isDir), !isDir.boolValue { result.append(root + "/" + rel) }
    }
    return result.sorted()
}

func snapshot(_ root: String) -> [String: Data] {
    var result: [String: Data] = [:]
    for path in files(under: root) where !path.contains("/tmp/") { result[path] = FileManager.default.contents(atPath: path) }
    return result
}

/// Counts for the corruption summary.
struct CorruptionCounts { var store = 0, bundle = 0, backup = 0, detected = 0, harmless = 0 }

@MainActor func corruptTrial(_ runner: Runner, _ template: Template, _ dir: String, _ rng: inout Random,
                  _ counts: inout CorruptionCounts) -> (String, String?) {
    do { try template.copy(to: dir) } catch { return ("setup", "\(error)") }
    let fm = FileManager.default
    switch rng.below(3) {
    case 0:
        counts.store += 1
        // Objects, packs, indexes and refs: everything fsck vouches for.
        let targets = files(under: dir + "/ws").filter { $0.contains("/objects/") || $0.contains("/packs/") || $0.contains("/refs/") }
        guard let what = damage(targets, &rng) else { return ("store", "nothing to damage") }
        let label = "store: \(what)"
        let fsck = runner.run(["fsck", "--store", dir + "/ws", "--json"])
        if fsck.status == 0 && what.contains("/objects/") && what.contains("bit") {
            // A flipped padding bit after the final deflate block of a loose object changes no
            // information: zlib's Adler-32 and the object ID check the decoded content, intact.
            counts.harmless += 1
            return (label, nil)
        }
        guard fsck.status == 1 else { return (label, "fsck exit \(fsck.status), expected 1: \(fsck.stderr.prefix(200))") }
        guard fsck.stdout.contains("sha256:") || fsck.stdout.contains("packs/") || fsck.stdout.contains("refs") || fsck.stdout.contains("threads/") || fsck.stdout.contains("directory") else {
            return (label, "fsck does not name the object or file: \(fsck.stdout.prefix(300))")
        }
        counts.detected += 1
        // gc must never turn the damage into a deletion of intact objects.
        let before = Set(files(under: dir + "/ws/objects") + files(under: dir + "/ws/packs"))
        _ = runner.run(["gc", "--store", dir + "/ws", "--grace-hours", "0"])
        let after = Set(files(under: dir + "/ws/objects") + files(under: dir + "/ws/packs"))
        let gone = before.subtracting(after)
        if !gone.isEmpty {
            // Allowed only when gc ran to completion, i.e. it could read every manifest: then
            // every intact reachable object must still read.
            let recheck = runner.run(["fsck", "--store", dir + "/ws", "--json"])
            if recheck.stdout.contains("missing-object") && !fsck.stdout.contains("missing-object") {
                return (label, "gc removed \(gone.count) file(s) and objects went missing")
            }
        }
        return (label, nil)
    case 1:
        counts.bundle += 1
        let bundle = dir + "/peer.bundle"
        try? fm.copyItem(atPath: template.root + "/peer.bundle", toPath: bundle)
        guard let what = damage([bundle], &rng) else { return ("bundle", "nothing to damage") }
        let label = "bundle: \(what)"
        let before = snapshot(dir + "/ws")
        let verify = runner.run(["bundle", "verify", bundle, "--store", dir + "/ws"])
        let apply = runner.run(["bundle", "apply", bundle, "--store", dir + "/ws"])
        if verify.status == 0 && apply.status == 0 {
            // Only acceptable if the damage did not change the bundle (impossible with a flip).
            return (label, "damaged bundle verified and applied (exit 0)")
        }
        guard apply.status == 65 || apply.status == 1 else { return (label, "apply exit \(apply.status), expected 65: \(apply.stderr.prefix(200))") }
        guard snapshot(dir + "/ws") == before else { return (label, "refused apply changed the store") }
        counts.detected += 1
        return (label, nil)
    default:
        counts.backup += 1
        let archive = dir + "/ws.backup"
        try? fm.copyItem(atPath: template.root + "/ws.backup", toPath: archive)
        guard let what = damage([archive], &rng) else { return ("backup", "nothing to damage") }
        let label = "backup: \(what)"
        let verify = runner.run(["backup", "verify", archive])
        guard verify.status == 1 || verify.status == 65 else {
            return (label, "verify exit \(verify.status), expected 1: \(verify.stdout.prefix(200)) \(verify.stderr.prefix(200))")
        }
        let restore = runner.run(["backup", "restore", archive, dir + "/restored"])
        guard restore.status != 0 else { return (label, "damaged archive restored (exit 0)") }
        guard !fm.fileExists(atPath: dir + "/restored/config.xml") else { return (label, "refused restore left a store") }
        counts.detected += 1
        return (label, nil)
    }
}

func locateSatchel(_ given: String?) -> String {
    if let given { return given }
    let own = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    return own.appendingPathComponent("satchel").path
}

let options = parseOptions()
let runner = Runner(satchel: locateSatchel(options.satchel))
guard FileManager.default.isExecutableFile(atPath: runner.satchel) else {
    print("no satchel binary at \(runner.satchel) (build it, or pass --satchel PATH)")
    exit(66)
}
let work = NSTemporaryDirectory() + "satchel-campaign-" + UUID().uuidString
func finish(_ status: Int32) -> Never {
    if !options.keep { try? FileManager.default.removeItem(atPath: work) }
    exit(status)
}
let template: Template
do { template = try Template(runner: runner, root: work + "/template") } catch {
    print("setup failed: \(error)")
    finish(70)
}
var failures = 0
/// Crash trials whose command was actually stopped by SIGKILL (the rest finished first).
var killedTrials = 0
var byOperation: [String: Int] = [:]
var counts = CorruptionCounts()
let started = Date()
for trial in 0..<options.trials {
    let seed = options.seed &+ UInt64(trial)
    var rng = Random(state: seed)
    let dir = work + "/trial-\(trial)"
    let (label, failure) = options.mode == "corrupt"
        ? corruptTrial(runner, template, dir, &rng, &counts)
        : crashTrial(runner, template, dir, &rng)
    byOperation[String(label.prefix(while: { $0 != "," && $0 != ":" })), default: 0] += 1
    if let failure {
        failures += 1
        print("FAIL seed \(seed) (replay: --trials 1 --seed \(seed)): \(label): \(failure)")
        if options.keep { continue }
    }
    try? FileManager.default.removeItem(atPath: dir)
}
let seconds = Int(Date().timeIntervalSince(started))
let mix = byOperation.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
if options.mode == "corrupt" {
    print("corrupt: \(options.trials) trials (store \(counts.store), bundle \(counts.bundle), backup \(counts.backup)), "
          + "\(counts.detected) damages detected, \(counts.harmless) harmless (loose-object padding bit, content intact), "
          + "\(failures) failures, seed \(options.seed), \(seconds) s")
} else {
    print("crash: \(options.trials) trials (\(mix)), \(killedTrials) killed mid-operation, \(failures) failures, seed \(options.seed), \(seconds) s")
}
finish(failures == 0 ? 0 : 1)

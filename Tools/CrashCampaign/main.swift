// CrashCampaign: runs real `satchel` processes and stops them with SIGKILL at random moments,
// or flips bits in and cuts files of stores, bundles and backups, then checks what issue #12
// asks for. See docs/RELIABILITY.md for the figures of record.
//
//   CrashCampaign crash   [--trials N] [--seed S] [--satchel PATH] [--keep] [--only serve,deliver,...]
//   CrashCampaign corrupt [--trials N] [--seed S] [--satchel PATH] [--keep]
//   CrashCampaign stress  [--trials N] [--seconds D] [--satchel PATH] [--keep]   (Stress.swift)
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
// (verify must exit 1 or 65), or a store that then syncs with a clean peer (the peer's fsck
// must stay clean: damage is never propagated; the sync fails, or carries only intact objects).
//
// Two more kinds of crash trial run whole services: `serve` (a portal serving HTTP sync is
// killed in the middle of a workstation's push, by a fault-point kill inside the server or
// SIGKILL after a random delay; the client's exit 0 means the push is on the portal, fsck stays
// clean on both, and after a restart the retried sync succeeds) and `deliver` (`outbox deliver`
// is killed while it hands notifications to a gateway command; nothing marked sent was not
// handed to the gateway, and a retry delivers every notification: at-least-once).
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
    /// Length of one stress run.
    var seconds = 30.0
    /// Crash trials only of these operations (names as in the summary line); nil: all.
    var only: Set<String>?
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
        case "--seconds": options.seconds = Double(value) ?? options.seconds; i += 1
        case "--only": options.only = Set(value.split(separator: ",").map(String.init)); i += 1
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

final class Runner: Sendable {
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

extension Runner {
    /// Starts `satchel serve` on a free port; returns the process and its URL once it listens
    /// (nil URL: it died or printed nothing within 10 s, e.g. a fault killed it at startup).
    func startServer(store: String, fault: String?) -> (Process, String?) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: satchel)
        process.arguments = ["serve", "--store", store, "--port", "0", "--json"]
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "SATCHEL_FAULT")
        if let fault { env["SATCHEL_FAULT"] = fault }
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return (process, nil) }
        let line = readLine(out.fileHandleForReading.fileDescriptor, timeout: 10)
        guard let line, let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let url = json["url"] as? String else { return (process, nil) }
        return (process, url)
    }

    /// Stops a server: SIGTERM, then SIGKILL if it has not exited within 10 s (reported).
    func stop(_ process: Process) -> Bool {
        guard process.isRunning else { return true }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(5000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return false
        }
        return true
    }
}

/// One line from `fd`, waiting at most `timeout` seconds in all.
func readLine(_ fd: Int32, timeout: Double) -> String? {
    var bytes: [UInt8] = []
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, 100)
        if ready < 0 && errno != EINTR { return nil }
        if ready <= 0 { continue }
        var byte: UInt8 = 0
        let n = read(fd, &byte, 1)
        if n <= 0 { return nil }
        if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
        bytes.append(byte)
    }
    return nil
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
    /// A portal store that has registered `ws` (token in `root/ws.token`), and one with queued
    /// notifications (`outbox`).
    static let stores = ["ws", "peer", "portal", "outbox"]

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
        for name in ["portal", "outbox"] {
            _ = try must(["init", root + "/" + name, "--role", "portal"])
            _ = try must(["directory", "import", root + "/directory.xml", "--store", root + "/" + name])
            _ = try must(["config", "portal-url", "https://portal.example.org", "--store", root + "/" + name])
        }
        let registered = try must(["replica", "register", "ws-laptop", "--store", root + "/portal", "--json"])
        guard let token = (try JSONSerialization.jsonObject(with: Data(registered.stdout.utf8)) as? [String: Any])?["token"] as? String else {
            throw SetupError.failed("replica register printed no token")
        }
        _ = fm.createFile(atPath: root + "/ws.token", contents: Data(token.utf8), attributes: [.posixPermissions: 0o600])
        // Notifications queued on `outbox`: the origin's threads and a bulk send reach it.
        _ = try must(["compose", "--store", root + "/origin", "--as", "s1", "--bulk", "active-patients", "--subject", "Flu shots",
                      "--body", "Flu shots are available.", "--send"])
        _ = try must(["sync", root + "/outbox", "--store", root + "/origin"])
        let queued = try must(["outbox", "list", "--store", root + "/outbox", "--json"])
        let entries = ((try JSONSerialization.jsonObject(with: Data(queued.stdout.utf8)) as? [String: Any])?["outbox"] as? [Any]) ?? []
        guard entries.count >= 3 else { throw SetupError.failed("expected queued notifications, found \(entries.count)") }
    }

    func copy(to dir: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in Self.stores { try fm.copyItem(atPath: root + "/" + name, toPath: dir + "/" + name) }
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
    for name in Template.stores + ["restored"] where FileManager.default.fileExists(atPath: dir + "/" + name + "/config.xml") {
        let o = runner.run(["fsck", "--store", dir + "/" + name])
        if o.status != 0 { return (false, "fsck \(name) exit \(o.status): \(o.stdout.suffix(400)) \(o.stderr.suffix(200))") }
    }
    return (true, "")
}

/// Runs `args` and kills it: half the time at a random fault point (1...points), half after a
/// random delay (0..<milliseconds). Returns the outcome and how it was stopped.
func killedRun(_ runner: Runner, _ args: [String], _ rng: inout Random, points: Int, milliseconds: Int) -> (Outcome, String) {
    if rng.below(2) == 0 {
        let nth = 1 + rng.below(points)
        return (runner.run(args, fault: "op=any,nth=\(nth),errno=kill"), "fault kill at point \(nth)")
    }
    let delay = Double(rng.below(milliseconds)) / 1000
    return (runner.run(args, killAfter: delay), "SIGKILL after \(Int(delay * 1000)) ms")
}

/// Notification IDs in `outbox list` with their status.
func outboxStatus(_ runner: Runner, _ store: String) -> [String: String]? {
    let o = runner.run(["outbox", "list", "--store", store, "--json"])
    guard o.status == 0, let json = try? JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any],
          let entries = json["outbox"] as? [[String: Any]] else { return nil }
    var result: [String: String] = [:]
    for entry in entries {
        guard let id = entry["notification"] as? String, let status = entry["status"] as? String else { return nil }
        result[id] = status
    }
    return result
}

/// The notification IDs a gateway log holds (one JSON payload per line).
func gatewayLog(_ path: String) -> [String] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap { line in
        (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["notification"] as? String
    }
}

/// `serve` killed in the middle of a workstation's push.
@MainActor func serveTrial(_ runner: Runner, _ template: Template, _ dir: String, _ rng: inout Random) -> (String, String?) {
    do { try template.copy(to: dir) } catch { return ("serve", "setup: \(error)") }
    let byFault = rng.below(2) == 0
    let nth = 1 + rng.below(60)
    let delay = Double(rng.below(300)) / 1000
    let how = byFault ? "fault kill in the server at point \(nth)" : "server SIGKILL \(Int(delay * 1000)) ms into the sync"
    let label = "serve, \(how)"
    let (server, url) = runner.startServer(store: dir + "/portal", fault: byFault ? "op=any,nth=\(nth),errno=kill" : nil)
    let syncArgs = { (url: String) in ["sync", url, "--store", dir + "/ws", "--token-file", template.root + "/ws.token", "--json"] }
    var client = Outcome(status: -1, killed: false, stdout: "", stderr: "no server")
    if let url {
        if byFault {
            client = runner.run(syncArgs(url))
        } else {
            // Kill the server from a second thread while the client runs.
            let pid = server.processIdentifier
            let killer = Thread { usleep(UInt32(delay * 1_000_000)); kill(pid, SIGKILL) }
            killer.start()
            client = runner.run(syncArgs(url))
            usleep(UInt32(delay * 1_000_000) + 1000)
        }
    }
    let serverKilled = !server.isRunning || server.terminationReason == .uncaughtSignal
    if serverKilled && url != nil { killedTrials += 1 }  // a fault at startup kills no push
    _ = runner.stop(server)
    server.waitUntilExit()
    // A client that exited 0 was told the exchange happened: it must be on the portal.
    if client.status == 0 && threadShow(runner, dir + "/portal", template.thread) == nil {
        return (label, "sync exited 0 but the pushed thread is not on the portal")
    }
    if client.status != 0 && client.status != 74 && client.status != 75 && url != nil {
        return (label, "sync exit \(client.status) (expected 0, 74 or 75): \(client.stderr.prefix(300))")
    }
    let (clean, why) = fsckClean(runner, dir)
    if !clean { return (label, "after the kill: \(why)") }
    // Restart and retry.
    let (again, url2) = runner.startServer(store: dir + "/portal", fault: nil)
    defer { _ = runner.stop(again) }
    guard let url2 else { return (label, "the portal does not start again after the kill") }
    let retry = runner.run(syncArgs(url2))
    guard retry.status == 0 else { return (label, "retried sync exit \(retry.status): \(retry.stderr.prefix(300))") }
    guard runner.stop(again) else { return (label, "serve did not stop on SIGTERM") }
    guard threadShow(runner, dir + "/portal", template.thread) != nil else { return (label, "after the retry the thread is not on the portal") }
    let (cleanAfter, whyAfter) = fsckClean(runner, dir)
    if !cleanAfter { return (label, "after the retry: \(whyAfter)") }
    return (label, nil)
}

/// `outbox deliver` killed while it hands notifications to the gateway.
@MainActor func deliverTrial(_ runner: Runner, _ template: Template, _ dir: String, _ rng: inout Random) -> (String, String?) {
    do { try template.copy(to: dir) } catch { return ("deliver", "setup: \(error)") }
    let log = dir + "/gateway.log"
    let args = ["outbox", "deliver", "--store", dir + "/outbox", "--retry-after", "0",
                "--command", "cat >> '\(log)'; echo >> '\(log)'", "--json"]
    let (outcome, how) = killedRun(runner, args, &rng, points: 40, milliseconds: 150)
    let label = "deliver, \(how)"
    if outcome.killed { killedTrials += 1 }
    if !outcome.killed && outcome.status != 0 { return (label, "exit \(outcome.status) without a kill: \(outcome.stderr.prefix(300))") }
    usleep(50_000)  // a gateway shell orphaned by the kill finishes its append
    guard let status = outboxStatus(runner, dir + "/outbox") else { return (label, "outbox list fails after the kill") }
    let handed = Set(gatewayLog(log))
    // Nothing is marked sent that the gateway was not given.
    let sentUnseen = status.filter { $0.value == "sent" && !handed.contains($0.key) }
    if !sentUnseen.isEmpty { return (label, "\(sentUnseen.count) notification(s) marked sent but never handed to the gateway") }
    if outcome.status == 0 && status.values.contains(where: { $0 != "sent" }) {
        return (label, "deliver exited 0 but notifications are still pending")
    }
    let (clean, why) = fsckClean(runner, dir)
    if !clean { return (label, "after the kill: \(why)") }
    let retry = runner.run(args)
    guard retry.status == 0 else { return (label, "retry exit \(retry.status): \(retry.stderr.prefix(300))") }
    guard let after = outboxStatus(runner, dir + "/outbox") else { return (label, "outbox list fails after the retry") }
    if after.values.contains(where: { $0 != "sent" }) { return (label, "after the retry notifications are still pending") }
    let handedAfter = Set(gatewayLog(log))
    if !Set(after.keys).isSubset(of: handedAfter) { return (label, "after the retry a notification was never handed to the gateway") }
    let (cleanAfter, whyAfter) = fsckClean(runner, dir)
    if !cleanAfter { return (label, "after the retry: \(whyAfter)") }
    return (label, nil)
}

@MainActor func crashTrial(_ runner: Runner, _ template: Template, _ dir: String, _ rng: inout Random) -> (String, String?) {
    let names = (operations.map(\.name) + ["serve", "deliver"]).filter { options.only?.contains($0) ?? true }
    let name = names[rng.below(names.count)]
    if name == "serve" { return serveTrial(runner, template, dir, &rng) }
    if name == "deliver" { return deliverTrial(runner, template, dir, &rng) }
    let operation = operations.first { $0.name == name }!
    do { try template.copy(to: dir) } catch { return (operation.name, "setup: \(error)") }
    let args = operation.args(template, dir)
    let (outcome, how) = killedRun(runner, args, &rng, points: 60, milliseconds: 200)
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
struct CorruptionCounts { var store = 0, bundle = 0, backup = 0, sync = 0, detected = 0, harmless = 0 }

@MainActor func corruptTrial(_ runner: Runner, _ template: Template, _ dir: String, _ rng: inout Random,
                  _ counts: inout CorruptionCounts) -> (String, String?) {
    do { try template.copy(to: dir) } catch { return ("setup", "\(error)") }
    let fm = FileManager.default
    switch rng.below(4) {
    case 3:
        // A damaged store syncing with a clean peer: the damage must stop at the sender.
        counts.sync += 1
        let targets = files(under: dir + "/ws").filter { $0.contains("/objects/") || $0.contains("/packs/") || $0.contains("/refs/") }
        guard let what = damage(targets, &rng) else { return ("sync", "nothing to damage") }
        let label = "sync: \(what)"
        let damaged = runner.run(["fsck", "--store", dir + "/ws"]).status != 0
        let sync = runner.run(["sync", dir + "/peer", "--store", dir + "/ws"])
        let peerFsck = runner.run(["fsck", "--store", dir + "/peer"])
        guard peerFsck.status == 0 else { return (label, "the damage reached the peer: fsck exit \(peerFsck.status): \(peerFsck.stdout.prefix(300))") }
        if sync.status != 0 {
            // Refused: the peer (fsck clean, checked above) still reads its own thread.
            guard threadCount(runner, dir + "/peer") >= 1 else { return (label, "after a refused sync the peer cannot list its thread") }
            counts.detected += 1
            return (label, nil)
        }
        if damaged {
            // The sync succeeded although the store was damaged: allowed only when the damage
            // was outside what the sync carried, and then the peer must read the thread intact.
            guard let shown = threadShow(runner, dir + "/peer", template.thread),
                  ((shown["messages"] as? [Any])?.count ?? 0) >= 1 else {
                return (label, "sync exited 0 from a damaged store and the peer cannot read the thread")
            }
            counts.detected += 1
        } else {
            counts.harmless += 1
        }
        return (label, nil)
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
if let only = options.only, only.isEmpty || !only.isSubset(of: Set(operations.map(\.name) + ["serve", "deliver"])) {
    print("--only takes a comma-separated list of: \((operations.map(\.name) + ["serve", "deliver"]).joined(separator: ", "))")
    exit(64)
}
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
if options.mode == "stress" {
    var failed = 0
    for trial in 0..<options.trials {
        let (summary, failures) = stress(runner, template, work + "/stress-\(trial)", seconds: options.seconds, hangLimit: 60)
        print("stress \(trial + 1)/\(options.trials), \(Int(options.seconds)) s: \(summary)")
        for failure in failures { print("FAIL: \(failure)") }
        if !failures.isEmpty { failed += 1 }
        if !options.keep { try? FileManager.default.removeItem(atPath: work + "/stress-\(trial)") }
    }
    print("stress: \(options.trials) run(s), \(failed) with failures")
    finish(failed == 0 ? 0 : 1)
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
    print("corrupt: \(options.trials) trials (store \(counts.store), bundle \(counts.bundle), backup \(counts.backup), sync from a damaged store \(counts.sync)), "
          + "\(counts.detected) damages detected, \(counts.harmless) harmless (loose-object padding bit, content intact), "
          + "\(failures) failures, seed \(options.seed), \(seconds) s")
} else {
    print("crash: \(options.trials) trials (\(mix)), \(killedTrials) killed mid-operation, \(failures) failures, seed \(options.seed), \(seconds) s")
}
finish(failures == 0 ? 0 : 1)

// Crash trials: a command (or a server, or a delivery) killed mid-work, then fsck, the
// acknowledged effect, and a retry (see main.swift).
import Foundation
import SatchelStore

struct Operation: Sendable {
    var name: String
    var args: @Sendable (_ t: Template, _ dir: String) -> [String]
    /// Exit codes a retry may give besides 0 (the first attempt finished before the kill).
    var retryAlso: Set<Int32> = []
    /// The effect is present (checked after an exit 0).
    var check: @Sendable (_ t: Template, _ dir: String, _ runner: Runner) -> Bool
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
func killedRun(_ runner: Runner, _ args: [String], _ rng: inout SplitMix64, points: Int, milliseconds: Int) -> (Outcome, String) {
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
@MainActor func serveTrial(_ runner: Runner, _ template: Template, _ dir: String, _ rng: inout SplitMix64) -> (String, String?) {
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
@MainActor func deliverTrial(_ runner: Runner, _ template: Template, _ dir: String, _ rng: inout SplitMix64) -> (String, String?) {
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

/// Crash trials whose command was actually stopped by SIGKILL (the rest finished first).
@MainActor var killedTrials = 0

/// One crash trial of an operation drawn from `only` (nil: any).
@MainActor func crashTrial(_ runner: Runner, _ template: Template, _ dir: String, _ rng: inout SplitMix64,
                           only: Set<String>?) -> (String, String?) {
    let names = (operations.map(\.name) + ["serve", "deliver"]).filter { only?.contains($0) ?? true }
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

import Foundation
import Synchronization

// CrashCampaign stress: several real `satchel` processes on one store at once (issue #12,
// "concurrency stress"). For `--seconds` seconds, in parallel:
//   - two composers on the portal store S (each acknowledged thread is recorded),
//   - a composer on the workstation W and an HTTP sync loop W <-> `satchel serve` on S,
//   - a local sync loop S <-> peer store,
//   - gc on S (grace 0.02 h = 72 s, longer than any operation may run) and fsck on S.
// Every run must exit 0, or 75 (busy) after a bounded wait; a run that takes longer than the
// hang limit is killed and counted as a deadlock. Afterwards: fsck is clean on every store, every
// thread a composer was told about (exit 0) is on its store, and after a final exchange every
// store holds every acknowledged thread.

/// What the workers saw, shared between their threads.
final class StressLog: Sendable {
    struct State {
        var acknowledged: [String: Set<String>] = [:]   // store name → thread IDs
        var runs: [String: Int] = [:]
        var busy: [String: Int] = [:]
        var longestBusy = 0.0
        var failures: [String] = []
    }
    let state = Mutex(State())

    func record(_ body: (inout State) -> Void) { state.withLock { body(&$0) } }
}

struct StressWorker: Sendable {
    var name: String
    var args: @Sendable (_ round: Int) -> [String]
    /// Store name (for `acknowledged`) when the run's JSON names a new thread.
    var acknowledges: String?
    var pause: Double = 0
}

func threadIDs(_ runner: Runner, _ store: String) -> Set<String>? {
    let o = runner.run(["thread", "list", "--store", store, "--json"])
    guard o.status == 0, let json = try? JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any],
          let threads = json["threads"] as? [[String: Any]] else { return nil }
    return Set(threads.compactMap { $0["thread"] as? String })
}

/// Runs the stress once; returns a summary line and the failures.
func stress(_ runner: Runner, _ template: Template, _ dir: String, seconds: Double, hangLimit: Double) -> (String, [String]) {
    do { try template.copy(to: dir) } catch { return ("setup", ["setup: \(error)"]) }
    let s = dir + "/portal", w = dir + "/ws", peer = dir + "/peer"
    let (server, url) = runner.startServer(store: s, fault: nil)
    guard let url else { _ = runner.stop(server); return ("setup", ["serve did not start"]) }
    let token = template.root + "/ws.token"
    let log = StressLog()
    func composer(_ store: String, _ as_: String, _ to: String) -> @Sendable (Int) -> [String] {
        { round in ["compose", "--store", store, "--as", as_, "--to", to, "--subject", "Stress \(as_) \(round)",
                    "--body", "Round \(round) from \(as_).", "--send", "--json"] }
    }
    let workers = [
        StressWorker(name: "compose-s1", args: composer(s, "s1", "u1"), acknowledges: "portal"),
        StressWorker(name: "compose-s2", args: composer(s, "s2", "u2"), acknowledges: "portal"),
        StressWorker(name: "compose-ws", args: composer(w, "s1", "u3"), acknowledges: "ws"),
        StressWorker(name: "http-sync", args: { _ in ["sync", url, "--store", w, "--token-file", token] }),
        StressWorker(name: "local-sync", args: { _ in ["sync", peer, "--store", s] }, pause: 0.2),
        StressWorker(name: "gc", args: { _ in ["gc", "--store", s, "--grace-hours", "0.02"] }, pause: 0.5),
        StressWorker(name: "fsck", args: { _ in ["fsck", "--store", s] }, pause: 0.5),
    ]
    let deadline = Date().addingTimeInterval(seconds)
    let group = DispatchGroup()
    for worker in workers {
        group.enter()
        let thread = Thread {
            var round = 0
            while Date() < deadline {
                round += 1
                let started = Date()
                let o = runner.run(worker.args(round), killAfter: hangLimit)
                let took = Date().timeIntervalSince(started)
                log.record { state in
                    state.runs[worker.name, default: 0] += 1
                    if o.killed {
                        state.failures.append("\(worker.name) round \(round): still running after \(Int(hangLimit)) s (killed): deadlock or hang")
                    } else if o.status == 75 {
                        state.busy[worker.name, default: 0] += 1
                        state.longestBusy = max(state.longestBusy, took)
                    } else if o.status != 0 {
                        state.failures.append("\(worker.name) round \(round): exit \(o.status): \(o.stderr.prefix(300)) \(o.stdout.prefix(600))")
                    } else if let store = worker.acknowledges {
                        let json = try? JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any]
                        if let thread = ((json?["threads"] as? [[String: Any]])?.first?["thread"]) as? String {
                            state.acknowledged[store, default: []].insert(thread)
                        } else {
                            state.failures.append("\(worker.name) round \(round): exit 0 without a thread in its JSON")
                        }
                    }
                }
                if worker.pause > 0 { usleep(UInt32(worker.pause * 1_000_000)) }
            }
            group.leave()
        }
        thread.start()
    }
    group.wait()
    var failures = log.state.withLock { $0.failures }
    if !runner.stop(server) { failures.append("serve did not stop on SIGTERM within 10 s") }
    server.waitUntilExit()
    // Nothing acknowledged is lost, and a final exchange brings everything everywhere.
    let acknowledged = log.state.withLock { $0.acknowledged }
    for (name, store) in [("portal", s), ("ws", w)] {
        let have = threadIDs(runner, store) ?? []
        let missing = acknowledged[name, default: []].subtracting(have)
        if !missing.isEmpty { failures.append("\(missing.count) acknowledged thread(s) missing on \(name): \(missing.sorted().prefix(3))") }
    }
    for args in [["sync", s, "--store", w], ["sync", peer, "--store", s], ["sync", s, "--store", w]] {
        let o = runner.run(args, killAfter: hangLimit)
        if o.status != 0 { failures.append("final \(args.joined(separator: " ")): exit \(o.status): \(o.stderr.prefix(300))") }
    }
    let everyAcknowledged = acknowledged.values.reduce(into: Set<String>()) { $0.formUnion($1) }
    for (name, store) in [("portal", s), ("ws", w), ("peer", peer)] {
        let have = threadIDs(runner, store) ?? []
        let missing = everyAcknowledged.subtracting(have)
        if !missing.isEmpty { failures.append("after the final exchange \(missing.count) acknowledged thread(s) missing on \(name): \(missing.sorted().prefix(4))") }
        let fsck = runner.run(["fsck", "--store", store])
        if fsck.status != 0 { failures.append("fsck \(name) exit \(fsck.status): \(fsck.stdout.suffix(300))") }
    }
    let summary = log.state.withLock { state in
        let runs = state.runs.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let busy = state.busy.values.reduce(0, +)
        return "runs: \(runs); \(everyAcknowledged.count) threads acknowledged; \(busy) busy (75) exits, longest \(String(format: "%.1f", state.longestBusy)) s"
    }
    return (summary, failures)
}

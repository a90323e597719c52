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
import SatchelStore

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
var byOperation: [String: Int] = [:]
var counts = CorruptionCounts()
let started = Date()
for trial in 0..<options.trials {
    let seed = options.seed &+ UInt64(trial)
    var rng = SplitMix64(seed: seed)
    let dir = work + "/trial-\(trial)"
    let (label, failure) = options.mode == "corrupt"
        ? corruptTrial(runner, template, dir, &rng, &counts)
        : crashTrial(runner, template, dir, &rng, only: options.only)
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

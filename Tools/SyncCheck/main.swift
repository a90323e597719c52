import Foundation
import SyncCheckKit

// swift run -c release SyncCheck --depth N [--bundles B] [--deliveries D] [--kinds K1,K2,...]
// Kinds: staffReply patientReply close reopen repliesOff repliesOn sync bundle deliver.
// Exhaustive small-scope check of 3-replica histories on the real engine (docs/RELIABILITY.md).
var config = Explorer.Config(depth: 5)
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    if flag == "--kinds", let list = arguments.popFirst() {
        config.kinds = Set(list.split(separator: ",").map(String.init))
        continue
    }
    guard let value = arguments.popFirst().flatMap(Int.init) else {
        FileHandle.standardError.write(Data("usage: SyncCheck [--depth N] [--bundles B] [--deliveries D] [--kinds close,reopen,sync,...]\n".utf8))
        exit(64)
    }
    switch flag {
    case "--depth": config.depth = value
    case "--bundles": config.maxBundles = value
    case "--deliveries": config.maxDeliveries = value
    default:
        FileHandle.standardError.write(Data("unknown option \(flag)\n".utf8))
        exit(64)
    }
}
var explorer = Explorer(config: config)
/// Unbuffered (stdout to a file is block-buffered): progress survives a killed run.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
explorer.progress = { r in
    say("progress: \(r.histories) histories in finished first-step subtrees, \(r.distinct) distinct states, "
          + "\(r.states) explored, \(r.transitions) steps run, \(r.pruned) pruned, \(r.violations.count) violations, "
          + "\(String(format: "%.0f", r.seconds)) s")
}
do {
    let report = try explorer.run()
    for violation in report.violations { say("VIOLATION: \(violation)") }
    say("depth \(config.depth), bundles \(config.maxBundles), deliveries \(config.maxDeliveries): "
          + "\(report.histories) histories checked (\(report.distinct) distinct states, \(report.states) explored, "
          + "\(report.transitions) steps run, \(report.pruned) pruned), "
          + "\(report.violations.count) violations, \(String(format: "%.1f", report.seconds)) s")
    say("histories of at most k steps, k = 0...\(config.depth): "
        + report.historiesUpTo.map(String.init).joined(separator: ", "))
    exit(report.violations.isEmpty ? 0 : 1)
} catch {
    FileHandle.standardError.write(Data("SyncCheck: \(error)\n".utf8))
    exit(70)
}

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
do {
    let report = try explorer.run()
    for violation in report.violations { print("VIOLATION: \(violation)") }
    print("depth \(config.depth), bundles \(config.maxBundles), deliveries \(config.maxDeliveries): "
          + "\(report.histories) histories checked (\(report.states) distinct states, \(report.transitions) steps run), "
          + "\(report.violations.count) violations, \(String(format: "%.1f", report.seconds)) s")
    exit(report.violations.isEmpty ? 0 : 1)
} catch {
    FileHandle.standardError.write(Data("SyncCheck: \(error)\n".utf8))
    exit(70)
}

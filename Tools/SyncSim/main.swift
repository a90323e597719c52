import Foundation
import SyncCheckKit

// swift run -c release SyncSim --histories N --seed S [--steps MAX]
// Deterministic simulation of 4 workstations and a portal (docs/RELIABILITY.md). A failing
// history prints its seed: `SyncSim --histories 1 --seed <seed>` replays it.
var histories = 1000
var seed: UInt64 = 1
var maxSteps = 14
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard let value = arguments.popFirst().flatMap(UInt64.init) else {
        FileHandle.standardError.write(Data("usage: SyncSim [--histories N] [--seed S] [--steps MAX]\n".utf8))
        exit(64)
    }
    switch flag {
    case "--histories": histories = Int(value)
    case "--seed": seed = value
    case "--steps": maxSteps = max(2, Int(value))
    default:
        FileHandle.standardError.write(Data("unknown option \(flag)\n".utf8))
        exit(64)
    }
}
/// Unbuffered (stdout to a file is block-buffered): progress survives a killed run.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
func line(_ r: Simulator.Report) -> String {
    "\(r.histories) histories (\(r.steps) steps, \(r.syncs) syncs, \(r.deliveries) bundle deliveries, "
        + "\(r.lostBundles) lost bundles, \(r.crashes) crashed applies, \(r.restores) restores), "
        + "\(Set(r.violations.map(\.seed)).count) violating histories (\(r.violations.count) violations), "
        + "\(String(format: "%.1f", r.seconds)) s"
}
do {
    let simulator = try Simulator()
    simulator.maxSteps = maxSteps
    var printed = 0
    simulator.run(histories: histories, seed: seed) { report in
        for (s, v) in report.violations.dropFirst(printed) {
            say("VIOLATION (replay: SyncSim --histories 1 --seed \(s) --steps \(maxSteps)): \(v)")
        }
        printed = report.violations.count
        say("progress: " + line(report))
    }
    for (s, v) in simulator.report.violations.dropFirst(printed).prefix(50) {
        say("VIOLATION (replay: SyncSim --histories 1 --seed \(s) --steps \(maxSteps)): \(v)")
    }
    say("seed \(seed): " + line(simulator.report))
    exit(simulator.report.violations.isEmpty ? 0 : 1)
} catch {
    FileHandle.standardError.write(Data("SyncSim: \(error)\n".utf8))
    exit(70)
}

import BenchSupport
import Foundation
import SatchelStore

// SyncBench: incremental sync cost as a store grows (1k, 10k, 100k threads, 100 changed), and
// a full bundle's size against `git bundle create` of the same objects, in one run. Measured
// work runs in children (this binary re-executed with `--phase`) so each reports its own peak
// RSS. Prints Markdown (docs/BENCHMARKS.md).

let arguments = Array(CommandLine.arguments.dropFirst())

if arguments.first == "--phase" {
    do {
        try Phase.main(Array(arguments.dropFirst()))
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("SyncBench phase failed: \(error)\n".utf8))
        exit(1)
    }
}

func runBenchmark() throws {
    let options = try Options.parse(arguments)
    let bench = try Bench(options: options)
    defer {
        if options.keep { bench.progress("kept \(bench.work)") } else { try? FileManager.default.removeItem(atPath: bench.work) }
    }
    bench.say("# SyncBench results")
    bench.say()
    bench.say("Command: `SyncBench \(arguments.joined(separator: " "))` (release build). Store sizes: "
              + options.sizes.map(Fmt.grouped).joined(separator: ", ") + " threads; \(options.changed) threads changed per round; "
              + "\(options.runs) round(s) per size, interleaved across sizes; medians reported.")
    bench.machine()
    let noop = try bench.child(.noop, [:])

    // Build every store pair first, so the measured rounds interleave across sizes.
    var pairs: [StorePair] = []
    for n in options.sizes {
        bench.progress("building N=\(n)…")
        pairs.append(try StorePair(threads: n, root: bench.work + "/n\(n)", log: bench.progress))
    }

    bench.say("## Data")
    bench.say()
    bench.say("| threads | build step | seconds |")
    bench.say("|--:|---|--:|")
    for pair in pairs {
        for (step, seconds) in pair.buildSeconds.sorted(by: { $0.value < $1.value }) {
            bench.say("| \(Fmt.grouped(pair.threads)) | \(step) | \(Fmt.f(seconds, 2)) |")
        }
    }
    bench.say()

    var rounds: [Int: [Round]] = [:]
    for round in 0..<options.runs {
        for pair in pairs {
            bench.progress("round \(round + 1)/\(options.runs), N=\(pair.threads)…")
            let r = try bench.incrementalRound(pair, round: round)
            bench.progress("  create \(Fmt.ms(r.createSeconds)) ms, \(r.bytes) B, apply \(Fmt.ms(r.applySeconds)) ms (changes took \(Fmt.f(r.changeSeconds, 1)) s)")
            rounds[pair.threads, default: []].append(r)
        }
    }
    var noChange: [Int: (bytes: UInt64, seconds: Double)] = [:]
    for pair in pairs { noChange[pair.threads] = try bench.noChangeBundle(pair) }

    // Store facts after the rounds.
    bench.say("| threads | workstation change log | workstation refs | portal refs | workstation on disk MB | portal on disk MB |")
    bench.say("|--:|--:|--:|--:|--:|--:|")
    for pair in pairs {
        let log = ((try? FileManager.default.attributesOfItem(atPath: pair.workstationPath + "/changes.log"))?[.size] as? Int) ?? 0
        let wRefs = (try? pair.workstation.store.refs.list().count) ?? 0
        let pRefs = (try? pair.portal.store.refs.list().count) ?? 0
        bench.say("| \(Fmt.grouped(pair.threads)) | \(Fmt.mb(UInt64(log))) MB | \(Fmt.grouped(wRefs)) | \(Fmt.grouped(pRefs)) | "
                  + "\(Fmt.mb(Proc.treeBytes(pair.workstationPath))) | \(Fmt.mb(Proc.treeBytes(pair.portalPath))) |")
    }
    bench.say()

    bench.say("## 1. Incremental bundle: \(options.changed) changed threads (staff replies, every 4th with a ~3 KB attachment)")
    bench.say()
    bench.say("`createBundle(for: portal)` on the workstation and `applyBundle` on the portal, each in its own child process; "
              + "times are the library call inside the child (store already open), median of \(options.runs); "
              + "wall = spawn to exit of the child.")
    bench.say()
    bench.say("| threads in store | create ms | apply ms | create+apply ms | create+apply CPU ms | bundle bytes (XML header) | objects | create wall ms | apply wall ms | create peak RSS MiB | apply peak RSS MiB |")
    bench.say("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    struct Row { var create, apply, both, cpu, createCPU, applyCPU, bytes: Double }
    var rows: [Int: Row] = [:]
    for pair in pairs {
        let rs = rounds[pair.threads] ?? []
        let create = median(rs.map(\.createSeconds)), apply = median(rs.map(\.applySeconds))
        let both = median(rs.map { $0.createSeconds + $0.applySeconds })
        let bytes = median(rs.map { Double($0.bytes) })
        let cpu = median(rs.map { $0.createCPU + $0.applyCPU })
        rows[pair.threads] = Row(create: create, apply: apply, both: both, cpu: cpu, createCPU: median(rs.map(\.createCPU)),
                                 applyCPU: median(rs.map(\.applyCPU)), bytes: bytes)
        bench.say("| \(Fmt.grouped(pair.threads)) | \(Fmt.ms(create)) | \(Fmt.ms(apply)) | \(Fmt.ms(both)) | \(Fmt.ms(cpu)) | "
                  + "\(Fmt.grouped(Int(bytes))) (\(Fmt.grouped(Int(median(rs.map { Double($0.headerBytes) }))))) | \(rs.map(\.objects).max() ?? 0) | \(Fmt.ms(median(rs.map(\.createWall)))) | "
                  + "\(Fmt.ms(median(rs.map(\.applyWall)))) | \(Fmt.mib(rs.map(\.createRSSKiB).max() ?? 0)) | "
                  + "\(Fmt.mib(rs.map(\.applyRSSKiB).max() ?? 0)) |")
    }
    bench.say()
    for pair in pairs {
        let rs = rounds[pair.threads] ?? []
        bench.say("Runs, \(Fmt.grouped(pair.threads)): create " + rs.map { Fmt.ms($0.createSeconds) }.joined(separator: ", ")
                  + " ms; apply " + rs.map { Fmt.ms($0.applySeconds) }.joined(separator: ", ")
                  + " ms; CPU create/apply " + rs.map { Fmt.ms($0.createCPU) + "/" + Fmt.ms($0.applyCPU) }.joined(separator: ", ")
                  + " ms; bytes " + rs.map { String($0.bytes) }.joined(separator: ", ")
                  + "; making the \(options.changed) changes took " + rs.map { Fmt.f($0.changeSeconds, 1) }.joined(separator: ", ") + " s.")
    }
    bench.say("No-change bundle (after the last round): " + pairs.map {
        "\(Fmt.grouped($0.threads)): \(noChange[$0.threads]!.bytes) B in \(Fmt.ms(noChange[$0.threads]!.seconds)) ms"
    }.joined(separator: "; ") + ". SyncBench child doing nothing: \(Fmt.mib(try Bench.int(noop.values, "peakRSSKiB"))) MiB peak RSS.")
    bench.say()

    // 2. Full bundle vs git.
    var fulls: [FullResult] = []
    for pair in pairs {
        bench.progress("full bundle N=\(pair.threads)…")
        fulls.append(try bench.fullComparison(pair))
    }
    bench.say("## 2. Full bundle (never-seen portal replica) vs `git bundle create` of the same objects")
    bench.say()
    bench.say("| threads | objects (Satchel / git incl. trees+commit) | payload MB | Satchel bundle MB (XML header MB) | git bundle MB | Satchel / git size | Satchel create s (CPU s) | Satchel peak RSS MiB | git add+commit s | git bundle create s |")
    bench.say("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for f in fulls {
        let ratio = f.gitBundleBytes > 0 ? Double(f.satchelBytes) / Double(f.gitBundleBytes) : .nan
        bench.say("| \(Fmt.grouped(f.threads)) | \(Fmt.grouped(f.objects)) / \(Fmt.grouped(f.gitObjects)) | \(Fmt.mb(f.payloadBytes)) | "
                  + "\(Fmt.mb(f.satchelBytes)) (\(Fmt.mb(UInt64(f.headerBytes)))) | \(Fmt.mb(f.gitBundleBytes)) | \(Fmt.f(ratio, 2))× | "
                  + "\(Fmt.f(f.satchelSeconds, 2)) (\(Fmt.f(f.satchelCPU, 2))) | \(Fmt.mib(f.satchelRSSKiB)) | "
                  + "\(Fmt.f(f.gitAddCommitSeconds, 2)) | \(Fmt.f(f.gitBundleSeconds, 2)) |")
    }
    bench.say()

    // 3. Bulk send with a 4 MiB attachment, synced, then 10 replies.
    var bulk: BulkAttachmentResult?
    if options.bulkPatients > 0 {
        bench.progress("bulk attachment to \(options.bulkPatients) patients…")
        let b = try bench.bulkAttachment(patients: options.bulkPatients)
        bulk = b
        bench.say("## 3. After a bulk send with a 4 MiB attachment: a bundle with 10 replies")
        bench.say()
        bench.say("Bulk send to every active patient of \(Fmt.grouped(b.patients)) (\(Fmt.grouped(b.threads)) threads) with one 4 MiB "
                  + "random attachment, synced to the portal (\(Fmt.mb(b.fullBytes)) MB sent); then 10 staff replies (~400 B each) "
                  + "and `createBundle(for: portal)`: \(Fmt.grouped(Int(b.incrementalBytes))) B, \(b.incrementalObjects) objects, "
                  + "create \(Fmt.ms(b.createSeconds)) ms, apply \(Fmt.ms(b.applySeconds)) ms (in process).")
        bench.say()
    }

    // Targets.
    if let small = pairs.first?.threads, let large = pairs.last?.threads, small != large,
       let a = rows[small], let b = rows[large] {
        bench.say("## Targets")
        bench.say()
        bench.say("| target | measured | result |")
        bench.say("|---|---|---|")
        func flat(_ name: String, _ x: Double, _ y: Double, _ unit: (Double) -> String) {
            let ratio = y / x
            bench.say("| \(name) within 1.5× from \(Fmt.grouped(small)) to \(Fmt.grouped(large)) threads | "
                      + "\(unit(x)) → \(unit(y)) (\(Fmt.f(ratio, 2))×) | **\(ratio <= 1.5 ? "PASS" : "MISS")** |")
        }
        let ms = { (s: Double) in Fmt.ms(s) + " ms" }
        flat("incremental create+apply time", a.both, b.both, ms)
        flat("incremental bundle bytes", a.bytes, b.bytes) { Fmt.grouped(Int($0)) + " B" }
        flat("(detail) incremental create+apply CPU time", a.cpu, b.cpu, ms)
        flat("(detail) createBundle time", a.create, b.create, ms)
        flat("(detail) createBundle CPU time", a.createCPU, b.createCPU, ms)
        flat("(detail) applyBundle time", a.apply, b.apply, ms)
        flat("(detail) applyBundle CPU time", a.applyCPU, b.applyCPU, ms)
        if let b = bulk {
            bench.say("| bundle of 10 replies after a synced bulk send with a 4 MiB attachment under 64 KB | "
                      + "\(Fmt.grouped(Int(b.incrementalBytes))) B | **\(b.incrementalBytes < 64 << 10 ? "PASS" : "MISS")** |")
        }
        for f in fulls where options.git {
            let ok = f.satchelBytes <= f.gitBundleBytes
            bench.say("| full bundle no larger than git bundle, \(Fmt.grouped(f.threads)) threads | "
                      + "\(Fmt.mb(f.satchelBytes)) vs \(Fmt.mb(f.gitBundleBytes)) MB (\(Fmt.f(Double(f.satchelBytes) / Double(f.gitBundleBytes), 2))×) | "
                      + "**\(ok ? "PASS" : "MISS")** |")
        }
        bench.say()
    }
}

do {
    try runBenchmark()
} catch {
    FileHandle.standardError.write(Data("SyncBench failed: \(error)\n".utf8))
    exit(1)
}

import BenchSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// StoreBench: ingests the same data through Satchel's object store and through git in one run
// and prints Markdown tables (docs/BENCHMARKS.md). Each Satchel phase runs in a child
// process (this binary re-executed with `--phase`) so its peak RSS is measured on its own.

let arguments = Array(CommandLine.arguments.dropFirst())

if arguments.first == "--phase" {
    // Child side.
    do {
        guard arguments.count >= 2, let phase = Phase(rawValue: arguments[1]) else {
            throw BenchError("--phase needs one of \(Phase.allCases.map(\.rawValue))")
        }
        var args = Phase.Arguments()
        var i = 2
        while i + 1 < arguments.count {
            switch arguments[i] {
            case "--store": args.store = arguments[i + 1]
            case "--input": args.input = arguments[i + 1]
            case "--result": args.result = arguments[i + 1]
            default: throw BenchError("unknown phase argument \(arguments[i])")
            }
            i += 2
        }
        try phase.run(args)
        exit(0)
    } catch {
        var text = "StoreBench phase failed: \(error)\n"
        text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        exit(1)
    }
}

func runBenchmark() throws {
    let options = try Options.parse(arguments)
    let bench = try Bench(options: options)
    defer {
        if options.keep {
            bench.progress("kept \(bench.work)")
        } else {
            try? bench.remove(bench.work)
        }
    }
    bench.say("# StoreBench results")
    bench.say()
    bench.say("Command: `StoreBench \(arguments.joined(separator: " "))` (release build), \(options.runs) run(s) "
              + "per measurement, writers alternating order between runs; `sync` before every timed run.")
    bench.say("Times are wall-clock from spawn to exit of the child doing the work (Satchel phases run in a "
              + "re-executed StoreBench child). Peak RSS: Satchel children report their own VmHWM "
              + "(/proc/self/status at exit); git and sha256sum run under \(Spawn.hasGNUTime ? "GNU time (%M)" : "wait4 (ru_maxrss; GNU time not installed, so floored by the parent's RSS)"). "
              + "MB = 10^6 bytes of payload; MiB = 2^20 bytes.")
    bench.say()
    try bench.machine()

    // 3. (floor) what a StoreBench child costs doing nothing.
    let noop = try bench.satchel(.noop, input: "")

    // 1. Small objects.
    let corpus = try bench.writeCorpus()
    bench.say("## Results")
    bench.say()
    let meanSize = Int(corpus.payloadBytes) / corpus.objects
    let batch = try bench.batchComparison(corpus)
    bench.smallTable(title: "1a. \(Fmt.grouped(corpus.objects)) text objects, batched "
                     + "(\(Fmt.f(Double(corpus.payloadBytes) / 1e6, 1)) MB payload, mean \(Fmt.grouped(meanSize)) B)",
                     series: batch, objects: corpus.objects, bytes: corpus.payloadBytes)
    let loose = try bench.looseComparison(corpus)
    bench.smallTable(title: "1b. Durable loose writes, first \(Fmt.grouped(corpus.looseObjects)) of the same objects "
                     + "(subset: one fsync per object makes the full set slow)",
                     series: loose, objects: corpus.looseObjects, bytes: corpus.loosePayloadBytes)

    // 2. Attachment.
    let attachment = try bench.attachmentComparison(mib: options.attachMiB, runs: options.runs)
    bench.attachmentTable(attachment)
    var large: AttachmentResult?
    if options.large {
        large = try bench.attachmentComparison(mib: options.largeMiB, runs: 1)
        bench.attachmentTable(large!)
    }

    // 3. Peak RSS summary.
    bench.say("### 3. Peak RSS per phase (each in its own process)")
    bench.say()
    bench.say("| phase | Satchel peak RSS MiB | git peak RSS MiB |")
    bench.say("|---|--:|--:|")
    bench.say("| StoreBench child doing nothing (floor) | \(Fmt.mib(noop.peakRSSKiB)) | – |")
    bench.say("| batch, \(Fmt.grouped(corpus.objects)) objects / fast-import | \(Fmt.mib(batch[0].peakRSSKiB)) | \(Fmt.mib(batch[1].peakRSSKiB)) |")
    bench.say("| loose, \(Fmt.grouped(corpus.looseObjects)) objects / hash-object --stdin-paths | \(Fmt.mib(loose[0].peakRSSKiB)) | \(Fmt.mib(loose[1].peakRSSKiB)) |")
    for a in [attachment] + (large.map { [$0] } ?? []) {
        bench.say("| attachment \(a.mib) MiB / hash-object -w | \(Fmt.mib(a.series[1].peakRSSKiB)) | \(Fmt.mib(a.series[2].peakRSSKiB)) |")
    }
    bench.say()

    // Targets.
    let batchRatio = batch[1].seconds / batch[0].seconds
    let shaShare = attachment.series[0].seconds / attachment.series[1].seconds
    let attachRSS = ([attachment] + (large.map { [$0] } ?? [])).map { $0.series[1].peakRSSKiB }
    let rssText = ([attachment] + (large.map { [$0] } ?? []))
        .map { "\(Fmt.mib($0.series[1].peakRSSKiB)) MiB at \($0.mib) MiB" }.joined(separator: ", ")
    bench.targetsTable([
        .init(name: "batched small-object ingest ≥ git fast-import's rate",
              measured: "\(Fmt.grouped(Int(Double(corpus.objects) / batch[0].seconds))) vs "
                  + "\(Fmt.grouped(Int(Double(corpus.objects) / batch[1].seconds))) objects/s (\(Fmt.f(batchRatio, 2))×)",
              pass: batchRatio >= 1),
        .init(name: "\(options.attachMiB) MiB incompressible attachment ≥ 70% of sha256sum speed",
              measured: "\(Fmt.f(100 * shaShare, 0))% (\(Fmt.f(Double(UInt64(options.attachMiB) << 20) / attachment.series[1].seconds / 1e6, 0)) vs "
                  + "\(Fmt.f(Double(UInt64(options.attachMiB) << 20) / attachment.series[0].seconds / 1e6, 0)) MB/s)",
              pass: shaShare >= 0.7),
        .init(name: "Satchel peak RSS < 64 MiB for the attachment", measured: rssText,
              pass: attachRSS.allSatisfy { $0 < 64 * 1024 }),
    ])

    bench.say("### Commands (git runs in a fresh `git init --bare` repository each run, with HOME and system config isolated)")
    bench.say()
    for s in batch + loose + attachment.series { bench.say("- \(s.label): `\(s.command)`") }
    bench.say()
}

do {
    try runBenchmark()
} catch {
    var text = "StoreBench failed: \(error)\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(1)
}

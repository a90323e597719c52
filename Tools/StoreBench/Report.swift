import BenchSupport
/// Markdown tables for the results (printed, and pasted as-is into docs/BENCHMARKS.md).
extension Bench {
    func mbPerSecond(_ bytes: UInt64, _ seconds: Double) -> Double { Double(bytes) / seconds / 1e6 }

    func smallTable(title: String, series: [Series], objects: Int, bytes: UInt64) {
        say("### \(title)")
        say()
        say("| writer | median s | objects/s | MB/s | CPU s | peak RSS MiB | on disk MiB |")
        say("|---|--:|--:|--:|--:|--:|--:|")
        for s in series {
            say("| \(s.label) | \(Fmt.f(s.seconds, 3)) | \(Fmt.grouped(Int(Double(objects) / s.seconds))) | "
                + "\(Fmt.f(mbPerSecond(bytes, s.seconds), 1)) | \(Fmt.f(s.cpuSeconds, 2)) | "
                + "\(Fmt.mib(s.peakRSSKiB)) | \(Fmt.f(Double(s.diskBytes) / 1048576, 1)) |")
        }
        say()
        say("Satchel / git: **\(Fmt.f(series[1].seconds / series[0].seconds, 2))×** (objects/s).")
        if let inside = series[0].inProcessSeconds {
            say("Satchel in-process time (open store → last durable return, without exec): \(Fmt.f(inside, 3)) s.")
        }
        for s in series { say("Runs, \(s.label): \(s.runList) s.") }
        say()
    }

    func attachmentTable(_ result: AttachmentResult) {
        let bytes = UInt64(result.mib) << 20
        let reference = result.series[0].seconds
        say("### 2. \(result.mib) MiB random attachment (\(result.runs == 1 ? "1 run" : "median of \(result.runs)"))")
        say()
        say("| reader / writer | median s | MB/s | % of sha256sum speed | CPU s | peak RSS MiB | on disk MiB |")
        say("|---|--:|--:|--:|--:|--:|--:|")
        for s in result.series {
            let disk = s.diskBytes == 0 ? "–" : Fmt.f(Double(s.diskBytes) / 1048576, 1)
            say("| \(s.label) | \(Fmt.f(s.seconds, 3)) | \(Fmt.f(mbPerSecond(bytes, s.seconds), 1)) | "
                + "\(Fmt.f(100 * reference / s.seconds, 0))% | \(Fmt.f(s.cpuSeconds, 2)) | "
                + "\(Fmt.mib(s.peakRSSKiB)) | \(disk) |")
        }
        say()
        say("Satchel encoding: \(result.stored ? "stored (no deflate; on-disk size ≈ payload)" : "DEFLATED (expected stored)").")
        if let inside = result.series[1].inProcessSeconds {
            say("Satchel in-process time (without exec): \(Fmt.f(inside, 3)) s "
                + "= \(Fmt.f(mbPerSecond(bytes, inside), 1)) MB/s.")
        }
        for s in result.series { say("Runs, \(s.label): \(s.runList) s.") }
        say()
    }

    struct Target {
        var name: String
        var measured: String
        var pass: Bool
    }

    func targetsTable(_ targets: [Target]) {
        say("### Targets")
        say()
        say("| target | measured | result |")
        say("|---|---|---|")
        for t in targets { say("| \(t.name) | \(t.measured) | **\(t.pass ? "PASS" : "MISS")** |") }
        say()
    }
}

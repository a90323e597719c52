import BenchSupport
import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelSync

// PipelineBench (issue #11, "encode once"): the whole path of a message from compose to the
// portal's view, run on two commits side by side (docs/BENCHMARKS.md, "Pipeline").
//
//   swift build -c release --product satchel && swift build -c release --product PipelineBench
//   .build/release/PipelineBench [--sends 1000] [--runs 3] [--mib 256] [--skip-a] [--skip-b]
//
// (a) In process, on the library: `--sends` one-patient sends with short bodies on a workstation,
//     `createBundle(for: portal)`, `applyBundle` on the portal, then `threadView` of every thread
//     on the portal. Fresh stores per run; medians of `--runs`.
// (b) Through the `satchel` binary (next to this one), each step its own process under
//     `/usr/bin/time`: compose one `--mib` MiB attachment, bundle create, bundle apply,
//     attachment get. CPU (user+sys) and peak RSS per step, against `sha256sum`, `gzip -1` and
//     `gunzip` over the same bytes in the same run. Two attachments: random (like a PDF or JPEG,
//     incompressible) and English-like text (compressible).

struct Options {
    var sends = 1_000
    var runs = 3
    var mib = 256
    var a = true
    var b = true
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("PipelineBench: \(message)\n".utf8))
    exit(1)
}

func f(_ value: Double, _ digits: Int = 2) -> String { Fmt.f(value, digits) }

// MARK: (a) 1,000 one-patient sends → bundle → apply → show every thread

struct RunA {
    var send = 0.0, create = 0.0, apply = 0.0, show = 0.0, cpu = 0.0, bundleBytes: UInt64 = 0
    var total: Double { send + create + apply + show }
}

func directory(patients: Int) -> Directory {
    Directory(
        staff: [.init(id: "s1", name: "Bench Staff", permissions: [.sendBulkPortalMessage])],
        patients: (0..<patients).map { .init(id: "P\($0)", name: "Patient \($0)", status: .active, email: "p\($0)@example.org", portalAccess: true) },
        portalUsers: (0..<patients).map { .init(id: "U\($0)", patient: "P\($0)", role: .patient, active: true, name: "Patient \($0)") })
}

func runA(root: String, sends: Int) throws -> RunA {
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    let laptop = try Repository.create(at: root + "/laptop", role: .workstation)
    let portal = try Repository.create(at: root + "/portal", role: .portal, portalURL: "https://portal.clinic.example")
    let xml = try directory(patients: sends).encoded()
    try laptop.importDirectory(xml)
    try portal.importDirectory(xml)
    var run = RunA()
    let cpu0 = BenchProcess.cpuSeconds()

    var start = BenchProcess.now()
    var threads: [String] = []
    for i in 0..<sends {
        var request = ComposeRequest(author: "s1")
        request.patient = "P\(i)"
        request.subject = "Your lab results \(i)"
        request.body = .text("Hello, your results from last week are in and look normal. Call us with any questions. (\(i))")
        threads.append(contentsOf: try laptop.send(request).threads.map(\.thread))
    }
    run.send = BenchProcess.now() - start

    let bundle = root + "/to-portal.bundle"
    start = BenchProcess.now()
    let summary = try SyncEngine(laptop).createBundle(for: portal.replica, to: bundle)
    run.create = BenchProcess.now() - start
    run.bundleBytes = summary.bytes

    start = BenchProcess.now()
    _ = try SyncEngine(portal).applyBundle(bundle)
    run.apply = BenchProcess.now() - start

    start = BenchProcess.now()
    var messages = 0
    for thread in threads { messages += try portal.threadView(thread).messages.count }
    run.show = BenchProcess.now() - start
    guard messages == sends else { throw BenchError("the portal shows \(messages) messages, expected \(sends)") }
    run.cpu = BenchProcess.cpuSeconds() - cpu0
    return run
}

// MARK: (b) one large attachment through the CLI

struct Step {
    var name: String
    var wall = 0.0, user = 0.0, system = 0.0
    var rssKiB = 0
    var cpu: Double { user + system }
}

/// Runs `arguments` under `/usr/bin/time` (fork + exec: the child's peak RSS is its own),
/// stdout to `stdout` (or discarded); throws on a non-zero exit.
func timed(_ name: String, _ arguments: [String], stdin: String? = nil, stdout: String? = nil) throws -> Step {
    let report = NSTemporaryDirectory() + "pipelinebench-time-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: report) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
    process.arguments = ["-f", "%e %U %S %M", "-o", report] + arguments
    if let stdin { process.standardInput = FileHandle(forReadingAtPath: stdin) }
    if let stdout {
        guard FileManager.default.createFile(atPath: stdout, contents: nil) else { throw BenchError("cannot create \(stdout)") }
        process.standardOutput = FileHandle(forWritingAtPath: stdout)
    } else {
        process.standardOutput = FileHandle.nullDevice
    }
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw BenchError("\(name) exited \(process.terminationStatus)") }
    let fields = try String(contentsOfFile: report, encoding: .utf8).split(whereSeparator: \.isWhitespace).suffix(4)
    guard fields.count == 4 else { throw BenchError("cannot read /usr/bin/time's report for \(name)") }
    let values = fields.map { String($0) }
    return Step(name: name, wall: Double(values[0]) ?? 0, user: Double(values[1]) ?? 0, system: Double(values[2]) ?? 0,
                rssKiB: Int(values[3]) ?? 0)
}

func writeAttachment(_ path: String, mib: Int, pattern: GeneratedSource.Pattern) throws {
    var source = GeneratedSource(length: UInt64(mib) << 20, pattern: pattern)
    try DurableFile.write(from: &source, to: path, mode: .ephemeral)
}

func runB(root: String, satchel: String, mib: Int, pattern: GeneratedSource.Pattern) throws -> (satchel: [Step], peers: [Step]) {
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    let file = root + "/scan.bin"
    try writeAttachment(file, mib: mib, pattern: pattern)
    let laptop = root + "/laptop", portal = root + "/portal"
    _ = try timed("init", [satchel, "init", laptop, "--role", "workstation"])
    _ = try timed("init", [satchel, "init", portal, "--role", "portal", "--portal-url", "https://portal.clinic.example", "--json"], stdout: root + "/portal.json")
    let xml = root + "/directory.xml"
    try Data(try directory(patients: 1).encoded()).write(to: URL(fileURLWithPath: xml))
    _ = try timed("import", [satchel, "--store", laptop, "directory", "import", xml])
    _ = try timed("import", [satchel, "--store", portal, "directory", "import", xml])
    let portalInfo = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/portal.json"))) as? [String: Any]
    guard let replica = portalInfo?["replica"] as? String else { throw BenchError("no replica in init's JSON") }

    var steps: [Step] = []
    steps.append(try timed("compose --attach", [satchel, "--store", laptop, "--json", "compose", "--as", "s1", "--patient", "P0",
                                               "--subject", "Scan", "--body", "Your scan is attached.", "--attach", file, "--send"],
                           stdout: root + "/compose.json"))
    let composed = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/compose.json"))) as? [String: Any]
    let sent = (composed?["threads"] as? [[String: Any]])?.first
    guard let thread = sent?["thread"] as? String, let message = sent?["message"] as? String else { throw BenchError("no thread/message in compose's JSON: \(String(describing: composed))") }
    let bundle = root + "/to-portal.bundle"
    steps.append(try timed("bundle create", [satchel, "--store", laptop, "bundle", "create", "--for", replica, "-o", bundle]))
    steps.append(try timed("bundle apply", [satchel, "--store", portal, "bundle", "apply", bundle]))
    let fetched = root + "/fetched.bin"
    steps.append(try timed("attachment get", [satchel, "--store", portal, "attachment", "get", thread, message, "scan.bin", "-o", fetched]))
    guard FileManager.default.contentsEqual(atPath: file, andPath: fetched) else { throw BenchError("the fetched attachment differs") }

    var peers: [Step] = []
    peers.append(try timed("sha256sum", ["/usr/bin/sha256sum", file]))
    let gz = root + "/scan.bin.gz"
    peers.append(try timed("gzip -1", ["/bin/gzip", "-1", "-c", file], stdout: gz))
    peers.append(try timed("gunzip", ["/bin/gzip", "-d", "-c", gz]))
    return (steps, peers)
}

// MARK: main

func main() throws {
    var options = Options()
    var arguments = Array(CommandLine.arguments.dropFirst())
    while !arguments.isEmpty {
        let flag = arguments.removeFirst()
        switch flag {
        case "--skip-a": options.a = false
        case "--skip-b": options.b = false
        case "--sends", "--runs", "--mib":
            guard let value = arguments.first.flatMap(Int.init), value > 0 else { fail("\(flag) needs a positive number") }
            arguments.removeFirst()
            if flag == "--sends" { options.sends = value } else if flag == "--runs" { options.runs = value } else { options.mib = value }
        default: fail("unknown option \(flag)")
        }
    }
    let work = NSTemporaryDirectory() + "satchel-pipelinebench-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: work) }
    print("# PipelineBench \(CommandLine.arguments.dropFirst().joined(separator: " ")) (binary \((try? BenchProcess.selfExecutable()) ?? "?"))")

    if options.a {
        var runs: [RunA] = []
        for index in 0..<options.runs {
            let run = try runA(root: work + "/a\(index)", sends: options.sends)
            try? FileManager.default.removeItem(atPath: work + "/a\(index)")
            FileHandle.standardError.write(Data("run \(index + 1): send \(f(run.send)) s, create \(f(run.create)) s, apply \(f(run.apply)) s, show \(f(run.show)) s\n".utf8))
            runs.append(run)
        }
        print()
        print("## (a) \(options.sends) one-patient sends → bundle create → apply on the portal → show every thread (median of \(options.runs))")
        print()
        print("| send s | bundle create s | bundle apply s | show all s | total s | CPU s | bundle bytes |")
        print("|--:|--:|--:|--:|--:|--:|--:|")
        print("| \(f(median(runs.map(\.send)))) | \(f(median(runs.map(\.create)))) | \(f(median(runs.map(\.apply)))) | "
              + "\(f(median(runs.map(\.show)))) | \(f(median(runs.map(\.total)))) | \(f(median(runs.map(\.cpu)))) | "
              + "\(runs.map(\.bundleBytes).max() ?? 0) |")
        print()
        print("Totals per run: " + runs.map { f($0.total) }.joined(separator: ", ") + " s.")
    }

    if options.b {
        let satchel = URL(fileURLWithPath: try BenchProcess.selfExecutable()).deletingLastPathComponent().appendingPathComponent("satchel").path
        guard FileManager.default.isExecutableFile(atPath: satchel) else { fail("build the satchel product first: \(satchel) is missing") }
        for (label, pattern) in [("random (incompressible)", GeneratedSource.Pattern.random(seed: 11)), ("English-like text", .text(seed: 12))] {
            let (steps, peers) = try runB(root: work + "/b", satchel: satchel, mib: options.mib, pattern: pattern)
            try? FileManager.default.removeItem(atPath: work + "/b")
            print()
            print("## (b) one \(options.mib) MiB attachment, \(label)")
            print()
            print("| step | wall s | user s | sys s | CPU s | peak RSS MiB |")
            print("|---|--:|--:|--:|--:|--:|")
            for step in steps + peers {
                print("| \(step.name) | \(f(step.wall)) | \(f(step.user)) | \(f(step.system)) | \(f(step.cpu)) | \(f(Double(step.rssKiB) / 1024, 1)) |")
            }
            let ours = steps.map(\.cpu).reduce(0, +), theirs = peers.map(\.cpu).reduce(0, +)
            let rss = steps.map(\.rssKiB).max() ?? 0
            print()
            print("Satchel CPU \(f(ours)) s vs sha256sum + gzip -1 + gunzip \(f(theirs)) s: **\(f(ours / theirs))×** (target ≤ 1.5×: "
                  + "\(ours <= 1.5 * theirs ? "PASS" : "MISS")); peak RSS \(f(Double(rss) / 1024, 1)) MiB (target < 64 MiB: \(rss < 64 << 10 ? "PASS" : "MISS")).")
        }
    }
}

do { try main() } catch { fail("\(error)") }

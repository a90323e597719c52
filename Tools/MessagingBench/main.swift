// Bulk-send benchmark (issue 4): one bulk message with an attachment to N patients on a
// workstation store. Reports wall time, store growth, objects written and peak RSS.
//
//   swift build -c release --scratch-path .build-msgtest --product MessagingBench
//   .build-msgtest/release/MessagingBench [--patients 10000] [--attachment-mib 4] [--runs 3] [--keep DIR]
//
// The parent builds the store (directory of N patients, each with one active portal user with an
// email) and a random (incompressible) attachment, then runs each send in a child process
// (`MessagingBench --child STORE FILE`), so the peak RSS reported (the child's VmHWM) is that of
// the send alone: open store, load directory, resolve, stream the attachment, write N messages
// and N threads into one pack, commit N thread refs.
import BenchSupport
import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore

struct Options {
    var patients = 10_000
    var attachmentMiB = 4
    var runs = 3
    var keep: String?
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("MessagingBench: \(message)\n".utf8))
    exit(1)
}


func totalBytes(_ dir: String) -> Int {
    var total = 0
    let enumerator = FileManager.default.enumerator(atPath: dir)
    while let rel = enumerator?.nextObject() as? String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: dir + "/" + rel)
        if attributes?[.type] as? FileAttributeType == .typeRegular { total += attributes?[.size] as? Int ?? 0 }
    }
    return total
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// Child: one bulk send; prints "sendSeconds threads peakKiB".
func child(store: String, attachment: String) {
    do {
        let start = ContinuousClock.now
        let repository = try Repository.open(at: store)
        var request = ComposeRequest(author: "s1")
        request.bulk = .activePatients
        request.subject = "Clinic update"
        request.body = .text("Our clinic hours change next week. Please see the attached schedule.")
        request.attachments = [.file(path: attachment, name: "schedule.pdf")]
        let result = try repository.send(request)
        print(String(format: "%.3f", seconds(since: start)), result.threads.count, BenchProcess.selfPeakRSSKiB())
    } catch {
        fail("send failed: \(error)")
    }
}

func parent(_ options: Options) throws {
    let root = options.keep ?? (NSTemporaryDirectory() + "satchel-bench-" + UUID().uuidString)
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { if options.keep == nil { try? FileManager.default.removeItem(atPath: root) } }

    let n = options.patients
    let directory = Directory(
        staff: [.init(id: "s1", name: "Bench Staff", permissions: [.sendBulkPortalMessage])],
        patients: (0..<n).map { .init(id: "P\($0)", name: "Patient \($0)", status: .active, email: "p\($0)@example.org", portalAccess: true) },
        portalUsers: (0..<n).map { .init(id: "U\($0)", patient: "P\($0)", role: .patient, active: true, name: "Patient \($0)") })
    let setup = ContinuousClock.now
    let repository = try Repository.create(at: root + "/store", role: .workstation)
    try repository.importDirectory(try directory.encoded())

    let attachment = root + "/schedule.bin"
    let size = options.attachmentMiB << 20
    var source = GeneratedSource(length: UInt64(size), pattern: .random(seed: 2024))
    var bytes = [UInt8](repeating: 0, count: size)
    _ = try bytes.withUnsafeMutableBytes { try source.read(into: $0) }
    guard FileManager.default.createFile(atPath: attachment, contents: Data(bytes)) else { fail("cannot write \(attachment)") }
    print("setup: \(n) patients, \(options.attachmentMiB) MiB random attachment, store \(root)/store (\(String(format: "%.1f", seconds(since: setup))) s)")
    print("run  wall(s)  send(s)  threads  growth(MiB)  objects+  packs+  peakRSS(MiB)")

    let executable = CommandLine.arguments[0]
    var walls: [Double] = []
    for run in 1...options.runs {
        let before = try repository.store.stats()
        let bytesBefore = totalBytes(root + "/store")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--child", root + "/store", attachment]
        let out = Pipe()
        process.standardOutput = out
        let start = ContinuousClock.now
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let wall = seconds(since: start)
        guard process.terminationStatus == 0 else { fail("child exited \(process.terminationStatus)") }
        let fields = output.split(whereSeparator: \.isWhitespace)
        guard fields.count == 3 else { fail("unexpected child output: \(output)") }
        let after = try repository.store.stats()
        let growth = Double(totalBytes(root + "/store") - bytesBefore) / 1_048_576
        walls.append(wall)
        let send = Double(fields[0]) ?? -1, threads = Int(fields[1]) ?? -1, peak = Double(Int(fields[2]) ?? -1) / 1024
        print(String(format: "%3d  %7.2f  %7.2f  %7d  %11.2f  %8d  %6d  %12.1f", run, wall, send, threads,
                     growth, after.objects - before.objects, after.packs - before.packs, peak))
    }
    let stats = try repository.store.stats()
    print(String(format: "best wall %.2f s, median %.2f s; store after %d runs: %d objects, %.1f MiB",
                 walls.min() ?? 0, walls.sorted()[walls.count / 2], options.runs, stats.objects, Double(stats.bytes) / 1_048_576))
}

var options = Options()
var arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "--child", arguments.count == 3 {
    child(store: arguments[1], attachment: arguments[2])
    exit(0)
}
while !arguments.isEmpty {
    let flag = arguments.removeFirst()
    guard let value = arguments.first else { fail("\(flag) needs a value") }
    arguments.removeFirst()
    switch flag {
    case "--patients": options.patients = Int(value) ?? options.patients
    case "--attachment-mib": options.attachmentMiB = Int(value) ?? options.attachmentMiB
    case "--runs": options.runs = max(1, Int(value) ?? options.runs)
    case "--keep": options.keep = value
    default: fail("unknown option \(flag)")
    }
}
do { try parent(options) } catch { fail("\(error)") }

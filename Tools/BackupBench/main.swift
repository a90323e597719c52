// Backup and restore against restic, in one run on the same store: a bulk send to thousands of
// patients with attachments (plus individual threads and replies, as loose objects).
//
//   swift build -c release --scratch-path .build-backup --product BackupBench
//   .build-backup/release/BackupBench [patients=3000] [rounds=3]
//
// Needs `restic` on PATH (apt-get install -y restic). Prints a Markdown table
// (docs/BENCHMARKS.md). Timings are wall clock, median of the rounds; restic and
// Satchel alternate within each round so disk noise hits both.
import Foundation
import SatchelBackup
import SatchelManifest
import SatchelMessaging
import SatchelStore

let arguments = CommandLine.arguments
let patients = arguments.count > 1 ? Int(arguments[1]) ?? 3000 : 3000
let rounds = arguments.count > 2 ? Int(arguments[2]) ?? 3 : 3

let root = NSTemporaryDirectory() + "satchel-backup-bench-" + UUID().uuidString
let fm = FileManager.default
try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
defer { try? fm.removeItem(atPath: root) }

func time(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func duBytes(_ path: String) -> UInt64 {
    var total: UInt64 = 0
    let e = fm.enumerator(atPath: path)
    while let rel = e?.nextObject() as? String {
        if let attrs = try? fm.attributesOfItem(atPath: path + "/" + rel), attrs[.type] as? FileAttributeType == .typeRegular {
            total += (attrs[.size] as? UInt64) ?? 0
        }
    }
    return total
}

@discardableResult
func run(_ tool: String, _ args: [String], env: [String: String] = [:]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + args
    var environment = ProcessInfo.processInfo.environment
    for (k, v) in env { environment[k] = v }
    process.environment = environment
    let out = Pipe()
    process.standardOutput = out
    process.standardError = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw NSError(domain: "bench", code: Int(process.terminationStatus),
                      userInfo: [NSLocalizedDescriptionKey: "\(tool) \(args.joined(separator: " ")) failed: \(String(decoding: data, as: UTF8.self))"])
    }
    return String(decoding: data, as: UTF8.self)
}

// MARK: The store

var xml = """
    <directory xmlns="urn:satchel:directory:1"><settings defaultAllowReplies="true">\
    <notificationTemplate id="e" channel="email">New secure message: {{link}}</notificationTemplate></settings>\
    <staff id="s1" name="Dr. Ada Shaw"><permission name="sendBulkPortalMessage"/></staff>\
    <staff id="s2" name="Nurse Ben Okafor"/><distributionList id="nursing" name="Nursing"><member staff="s2"/></distributionList>
    """
for p in 0..<patients {
    xml += "<patient id=\"p\(p)\" name=\"Patient Number \(p)\" status=\"\(p % 7 == 0 ? "discharged" : "active")\" email=\"patient\(p)@example.org\" portalAccess=\"true\"/>"
}
for p in 0..<patients {
    xml += "<portalUser id=\"u\(p)\" patient=\"p\(p)\" role=\"patient\" active=\"true\" name=\"Patient Number \(p)\"/>"
}
xml += "</directory>"

let storePath = root + "/store"
let repository = try Repository.create(at: storePath, role: .workstation, name: "Front desk")
try repository.importDirectory(Array(xml.utf8))

func writeFile(_ name: String, size: Int, pattern: GeneratedSource.Pattern) throws -> String {
    var source = GeneratedSource(length: UInt64(size), pattern: pattern)
    var bytes = [UInt8](repeating: 0, count: size)
    _ = try bytes.withUnsafeMutableBytes { try source.read(into: $0) }
    let path = root + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}
let pdf = try writeFile("flu-clinic-schedule.pdf", size: 2 << 20, pattern: .random(seed: 1))
let leaflet = try writeFile("leaflet.txt", size: 300 << 10, pattern: .text(seed: 2))
let bodyText = String(repeating: "Our flu clinic opens next week. Please book a slot through the portal. ", count: 40)

let buildTime = try time {
    var bulk = ComposeRequest(author: "s1")
    bulk.bulk = .all
    bulk.subject = "Flu clinic"
    bulk.body = .text(bodyText)
    bulk.attachments = [.file(path: pdf), .file(path: leaflet)]
    _ = try repository.send(bulk)
    // Individual threads with their own attachments, and replies: loose objects and small packs.
    for i in 0..<100 {
        var request = ComposeRequest(author: "s1")
        request.patient = "p\(i * 7 + 1)"
        request.subject = "Results \(i)"
        request.body = .text("Your results are ready. Note \(i).")
        request.attachments = [.file(path: try writeFile("result-\(i).pdf", size: 200 << 10, pattern: .random(seed: UInt64(100 + i))))]
        let sent = try repository.send(request)
        _ = try repository.reply(thread: sent.threads[0].thread, as: "s2", body: .text("Follow-up \(i)"))
    }
}
let storeBytes = duBytes(storePath)
let storeFiles = (fm.enumerator(atPath: storePath)?.allObjects.count) ?? 0
print("store: \(patients) patients, \(try repository.store.allObjectIDs().count) objects, \(storeFiles) files, \(storeBytes) bytes, built in \(String(format: "%.1f", buildTime)) s")

// MARK: Measurements

let passphraseFile = root + "/passphrase"
try Data("correct horse battery staple\n".utf8).write(to: URL(fileURLWithPath: passphraseFile))
let passphrase = try Passphrase(file: passphraseFile)
let env = ["RESTIC_PASSWORD": "correct horse battery staple", "RESTIC_CACHE_DIR": root + "/restic-cache"]

var satchelBackup: [Double] = [], satchelRestore: [Double] = [], plainBackup: [Double] = [], plainRestore: [Double] = []
var resticBackup: [Double] = [], resticRestore: [Double] = []
var satchelSize: UInt64 = 0, plainSize: UInt64 = 0, resticSize: UInt64 = 0

if ProcessInfo.processInfo.environment["BENCH_PROFILE"] == "1" {
    for i in 0..<5 {
        let archive = root + "/profile-\(i).backup"
        let t = try time { try Backup.create(repository, to: archive, options: .init(passphrase: passphrase)) }
        let r = try time { try Backup.restore(archive, to: root + "/profile-restore-\(i)", passphrase: passphrase) }
        print("profile: backup \(t) s, restore \(r) s")
    }
    exit(0)
}

let kdf = try time { _ = try Backup.deriveKeyCost(passphrase: passphrase) }

for round in 0..<rounds {
    // restic: a fresh repository each round (init not timed).
    let repo = root + "/restic-\(round)"
    try run("restic", ["init", "--repo", repo], env: env)
    resticBackup.append(try time { try run("restic", ["--repo", repo, "backup", "--quiet", storePath], env: env) })
    resticSize = duBytes(repo)
    let resticTarget = root + "/restic-restore-\(round)"
    resticRestore.append(try time { try run("restic", ["--repo", repo, "restore", "latest", "--target", resticTarget], env: env) })

    let archive = root + "/satchel-\(round).backup"
    satchelBackup.append(try time { try Backup.create(repository, to: archive, options: .init(passphrase: passphrase)) })
    satchelSize = UInt64(try fm.attributesOfItem(atPath: archive)[.size] as! UInt64)
    satchelRestore.append(try time { try Backup.restore(archive, to: root + "/satchel-restore-\(round)", passphrase: passphrase) })

    let plain = root + "/plain-\(round).backup"
    plainBackup.append(try time { try Backup.create(repository, to: plain) })
    plainSize = UInt64(try fm.attributesOfItem(atPath: plain)[.size] as! UInt64)
    plainRestore.append(try time { try Backup.restore(plain, to: root + "/plain-restore-\(round)", passphrase: nil) })

    for path in [repo, resticTarget, archive, plain, root + "/satchel-restore-\(round)", root + "/plain-restore-\(round)"] {
        try? fm.removeItem(atPath: path)
    }
}

func s(_ v: Double) -> String { String(format: "%.2f s", v) }
func mib(_ v: UInt64) -> String { String(format: "%.2f MiB", Double(v) / 1048576) }
func ratio(_ a: Double, _ b: Double) -> String { String(format: "%.2f×", a / b) }

print("""

    | | backup | restore | size |
    |---|---|---|---|
    | restic \(try run("restic", ["version"]).split(separator: " ")[1]) (encrypted, zstd auto) | \(s(median(resticBackup))) | \(s(median(resticRestore))) | \(mib(resticSize)) |
    | satchel, encrypted (scrypt N=2^15 r=8 p=1, AES-256-GCM) | \(s(median(satchelBackup))) | \(s(median(satchelRestore))) | \(mib(satchelSize)) |
    | satchel, not encrypted | \(s(median(plainBackup))) | \(s(median(plainRestore))) | \(mib(plainSize)) |
    | satchel encrypted vs restic | \(ratio(median(satchelBackup), median(resticBackup))) | \(ratio(median(satchelRestore), median(resticRestore))) | \(String(format: "%.2f×", Double(satchelSize) / Double(resticSize))) |

    store directory: \(mib(storeBytes)) in \(storeFiles) files; scrypt key derivation alone: \(s(kdf)) (paid once per create/restore)
    rounds: \(rounds); all runs: restic backup \(resticBackup.map(s)), restore \(resticRestore.map(s)); satchel backup \(satchelBackup.map(s)), restore \(satchelRestore.map(s))
    """)

import BenchSupport
import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelSync

struct Options {
    var sizes = [1_000, 10_000, 100_000]
    var changed = 100
    var runs = 3
    var directory = "/tmp"
    var keep = false
    var git = true
    var profile: String?
    var bulkPatients = 3_000

    static let usage = """
        usage: SyncBench [--max N] [--sizes A,B,C] [--changed N] [--runs N] [--dir DIR] [--no-git] [--keep]
          --max N         only store sizes up to N threads (e.g. --max 10000 for a quick run)
          --sizes LIST    store sizes in threads (default 1000,10000,100000)
          --changed N     threads changed between syncs (default 100)
          --runs N        incremental rounds per size, median reported (default 3)
          --dir DIR       where the temporary work directory goes (default /tmp)
          --no-git        skip the full-bundle comparison with git bundle
          --keep          keep the work directory
          --profile DIR   run each measured create/apply child under `perf record -g`, data in DIR
          --bulk N        patients in the bulk-attachment case (default 3000; 0 skips it)
        """

    static func parse(_ args: [String]) throws -> Options {
        var options = Options()
        var maxSize = Int.max
        var arguments = BenchArguments(args, usage: usage)
        while let flag = arguments.next() {
            switch flag {
            case "--max": maxSize = try arguments.number()
            case "--sizes":
                options.sizes = try arguments.value().split(separator: ",").map {
                    guard let n = Int($0), n > 0 else { throw BenchError("bad size \($0)") }
                    return n
                }
            case "--changed": options.changed = try arguments.number()
            case "--runs": options.runs = try arguments.number()
            case "--dir": options.directory = try arguments.value()
            case "--no-git": options.git = false
            case "--bulk": options.bulkPatients = try arguments.number(minimum: 0)
            case "--keep": options.keep = true
            case "--profile": options.profile = try arguments.value()
            case "-h", "--help": print(usage); exit(0)
            default: throw arguments.unknown()
            }
        }
        options.sizes = options.sizes.filter { $0 <= maxSize }.sorted()
        guard !options.sizes.isEmpty else { throw BenchError("no store size left under --max") }
        return options
    }
}

/// One measured incremental round.
struct Round {
    var createSeconds: Double
    var createCPU: Double
    var applyCPU: Double
    var createWall: Double
    var createRSSKiB: Int
    var bytes: UInt64
    var headerBytes: Int
    var objects: Int
    var threads: Int
    var applySeconds: Double
    var applyWall: Double
    var applyRSSKiB: Int
    var changeSeconds: Double
}

struct FullResult {
    var threads: Int
    var objects: Int
    var satchelBytes: UInt64
    var headerBytes: Int
    var satchelSeconds: Double
    var satchelCPU: Double
    var satchelWall: Double
    var satchelRSSKiB: Int
    var exportSeconds: Double = 0
    var gitAddCommitSeconds: Double = 0
    var gitBundleSeconds: Double = 0
    var gitBundleBytes: UInt64 = 0
    var gitObjects = 0
    var payloadBytes: UInt64 = 0
}

final class Bench {
    let options: Options
    let work: String
    let selfExe: String
    let childEnv: [String: String]
    let gitEnv: [String: String]
    var lines: [String] = []
    private var profiled = 0

    init(options: Options) throws {
        self.options = options
        let base = options.directory + "/syncbench-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: false)
        work = base
        selfExe = try BenchProcess.selfExecutable()
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        try FileManager.default.createDirectory(atPath: work + "/home", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: work + "/scratch", withIntermediateDirectories: true)
        childEnv = ["PATH": path, "LC_ALL": "C"]
        // A private HOME and no system config: no user or system git settings leak in.
        gitEnv = ["PATH": path, "HOME": work + "/home", "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C",
                  "GIT_AUTHOR_NAME": "SyncBench", "GIT_AUTHOR_EMAIL": "bench@example.org",
                  "GIT_COMMITTER_NAME": "SyncBench", "GIT_COMMITTER_EMAIL": "bench@example.org",
                  "GIT_AUTHOR_DATE": "2025-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2025-01-01T00:00:00Z"]
    }

    var scratch: String { work + "/scratch" }

    func say(_ text: String = "") {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
        lines.append(text)
    }

    func progress(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Runs a phase in a child; returns its result values and the spawn-to-exit wall time.
    func child(_ phase: Phase, _ args: [String: String]) throws -> (values: [String: String], wall: Double) {
        let result = scratch + "/result-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: result) }
        sync()
        var argv = [selfExe, "--phase", phase.rawValue, "--result", result]
        if let dir = options.profile, phase != .noop {
            profiled += 1
            argv = ["perf", "record", "-q", "-F", "999", "-g", "-o", dir + "/\(phase.rawValue)-\(profiled).data", "--"] + argv
        }
        for (key, value) in args.sorted(by: { $0.key < $1.key }) { argv += [key, value] }
        let wall = try Proc.run(argv, environment: childEnv)
        return (try ResultFile.read(result), wall)
    }

    static func double(_ values: [String: String], _ key: String) throws -> Double {
        guard let v = values[key].flatMap(Double.init) else { throw BenchError("child reported no \(key)") }
        return v
    }

    static func int(_ values: [String: String], _ key: String) throws -> Int {
        guard let v = values[key].flatMap({ Int($0) }) else { throw BenchError("child reported no \(key)") }
        return v
    }

    // MARK: Incremental

    /// Changes `options.changed` threads on the workstation, then measures bundle create
    /// (workstation, for the portal) and apply (portal), each in a child; checks convergence
    /// of the changed threads; lets the ack settle.
    func incrementalRound(_ pair: StorePair, round: Int) throws -> Round {
        let changed = try pair.change(round: round, count: options.changed, scratch: scratch)
        let bundle = scratch + "/incremental-\(pair.threads)-\(round).bundle"
        defer { try? FileManager.default.removeItem(atPath: bundle) }
        let (created, createWall) = try child(.create, ["--store": pair.workstationPath, "--target": pair.portal.replica,
                                                       "--role": "portal", "--out": bundle])
        guard created["full"] == "false" else { throw BenchError("N=\(pair.threads): expected an incremental bundle, got a full one") }
        let threads = try Self.int(created, "threads")
        guard threads == changed.threads.count else {
            throw BenchError("N=\(pair.threads): incremental bundle carries \(threads) threads, expected \(changed.threads.count)")
        }
        let (applied, applyWall) = try child(.apply, ["--store": pair.portalPath, "--bundle": bundle])
        guard try Self.int(applied, "threads") == changed.threads.count else {
            throw BenchError("N=\(pair.threads): apply moved \(applied["threads"] ?? "?") threads, expected \(changed.threads.count)")
        }
        for thread in changed.threads where try pair.workstation.thread(thread).head != pair.portal.thread(thread).head {
            throw BenchError("N=\(pair.threads): thread \(thread) differs after apply")
        }
        try pair.settle(scratch: scratch)
        return Round(createSeconds: try Self.double(created, "seconds"), createCPU: try Self.double(created, "cpu"),
                     applyCPU: try Self.double(applied, "cpu"), createWall: createWall,
                     createRSSKiB: try Self.int(created, "peakRSSKiB"),
                     bytes: UInt64(try Self.int(created, "bytes")), headerBytes: try Self.int(created, "headerBytes"), objects: try Self.int(created, "objects"),
                     threads: threads,
                     applySeconds: try Self.double(applied, "seconds"), applyWall: applyWall,
                     applyRSSKiB: try Self.int(applied, "peakRSSKiB"), changeSeconds: changed.seconds)
    }

    /// A bundle with nothing changed since the last exchange (in process).
    func noChangeBundle(_ pair: StorePair) throws -> (bytes: UInt64, seconds: Double) {
        let path = scratch + "/nochange-\(pair.threads).bundle"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (summary, seconds) = try Clock.time {
            try SyncEngine(pair.workstation).createBundle(for: pair.portal.replica, targetRole: .portal, to: path)
        }
        guard !summary.full, summary.threads == 0 else { throw BenchError("no-change bundle is not empty: \(summary)") }
        return (summary.bytes, seconds)
    }

    // MARK: Full bundle vs git

    func fullComparison(_ pair: StorePair) throws -> FullResult {
        // A never-seen portal replica (a real store, so the ID is a valid one).
        let fresh = try Repository.create(at: pair.root + "/fresh-portal", role: .portal)
        let bundle = scratch + "/full-\(pair.threads).bundle"
        defer { try? FileManager.default.removeItem(atPath: bundle) }
        let (created, wall) = try child(.create, ["--store": pair.workstationPath, "--target": fresh.replica,
                                                 "--role": "portal", "--out": bundle])
        guard created["full"] == "true" else { throw BenchError("bundle for a fresh replica is not full") }
        var result = FullResult(threads: try Self.int(created, "threads"), objects: try Self.int(created, "objects"),
                                satchelBytes: UInt64(try Self.int(created, "bytes")), headerBytes: try Self.int(created, "headerBytes"),
                                satchelSeconds: try Self.double(created, "seconds"), satchelCPU: try Self.double(created, "cpu"), satchelWall: wall,
                                satchelRSSKiB: try Self.int(created, "peakRSSKiB"))
        guard options.git else { return result }

        // The same objects, one file per object payload at <2 hex>/<62 hex> of its ID.
        let repo = pair.root + "/git-export"
        let start = BenchProcess.now()
        let objects = try pair.reachableFromThreads()
        guard objects.count == result.objects else {
            throw BenchError("reachable objects \(objects.count) ≠ bundle objects \(result.objects)")
        }
        try FileManager.default.createDirectory(atPath: repo, withIntermediateDirectories: true)
        var made = Set<String>()
        for id in objects {
            let hex = id.hex
            let dir = repo + "/" + hex.prefix(2)
            if made.insert(String(hex.prefix(2))).inserted {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            }
            let bytes = try pair.workstation.store.read(id).bytes
            result.payloadBytes += UInt64(bytes.count)
            guard FileManager.default.createFile(atPath: dir + "/" + hex.dropFirst(2), contents: Data(bytes)) else {
                throw BenchError("cannot write export file for \(id)")
            }
        }
        result.exportSeconds = BenchProcess.now() - start
        try Proc.run(["git", "init", "-q", repo], environment: gitEnv)
        sync()
        let git = ["git", "-c", "gc.auto=0", "-C", repo]
        result.gitAddCommitSeconds = try Proc.run(git + ["add", "-A"], environment: gitEnv)
        result.gitAddCommitSeconds += try Proc.run(git + ["commit", "-q", "-m", "threads"], environment: gitEnv)
        let gitBundle = pair.root + "/git.bundle"
        sync()
        result.gitBundleSeconds = try Proc.run(git + ["bundle", "create", "-q", gitBundle, "--all"], environment: gitEnv)
        result.gitBundleBytes = UInt64((try FileManager.default.attributesOfItem(atPath: gitBundle)[.size] as? Int) ?? 0)
        let listed = try Proc.output(git + ["rev-list", "--objects", "--all"], environment: gitEnv)
        result.gitObjects = listed.split(separator: "\n").count
        if !options.keep {
            try? FileManager.default.removeItem(atPath: repo)
            try? FileManager.default.removeItem(atPath: gitBundle)
        }
        return result
    }

    // MARK: Machine

    func machine() {
        func first(_ path: String, _ prefix: String) -> String? {
            ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
                .first { $0.hasPrefix(prefix) }.map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) }
        }
        let cpu = first("/proc/cpuinfo", "model name") ?? "unknown CPU"
        let mem = first("/proc/meminfo", "MemTotal") ?? "?"
        let load = ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
        let kernel = (try? Proc.output(["uname", "-sr"], environment: childEnv))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        let git = (try? Proc.output(["git", "--version"], environment: gitEnv))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        say("Machine: \(ProcessInfo.processInfo.activeProcessorCount) CPU(s), \(cpu), \(mem) RAM, \(kernel); \(git); "
            + "load average at start \(load) (the machine is shared: compare figures within this run).")
        say()
    }
}

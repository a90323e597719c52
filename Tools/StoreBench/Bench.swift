import BenchSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SatchelStore

struct Options {
    var runs = 3
    var directory = "/tmp"
    var large = false
    var objects = 20_000
    var looseSubset = 2_000
    var attachMiB = 256
    var largeMiB = 1024
    var keep = false

    static let usage = """
        usage: StoreBench [--runs N] [--dir DIR] [--large] [--objects N] [--loose N]
                          [--attach-mib N] [--large-mib N] [--keep]
          --runs N        runs per measurement, median reported (default 3)
          --dir DIR       where the temporary work directory goes (default /tmp)
          --large         also ingest a 1 GiB attachment (one run) to show RSS stays flat
          --objects N     small text objects for the batch comparison (default 20000)
          --loose N       subset written as durable loose objects (default 2000)
          --attach-mib N  attachment size in MiB (default 256)
          --large-mib N   size for --large in MiB (default 1024)
          --keep          keep the work directory
        """

    static func parse(_ args: [String]) throws -> Options {
        var options = Options()
        var arguments = BenchArguments(args, usage: usage)
        while let flag = arguments.next() {
            switch flag {
            case "--runs": options.runs = try arguments.number()
            case "--dir": options.directory = try arguments.value()
            case "--large": options.large = true
            case "--objects": options.objects = try arguments.number()
            case "--loose": options.looseSubset = try arguments.number()
            case "--attach-mib": options.attachMiB = try arguments.number()
            case "--large-mib": options.largeMiB = try arguments.number()
            case "--keep": options.keep = true
            case "-h", "--help": print(usage); exit(0)
            default: throw arguments.unknown()
            }
        }
        options.looseSubset = min(options.looseSubset, options.objects)
        return options
    }
}

/// One measured run of one writer.
struct Sample {
    var seconds: Double
    var inProcessSeconds: Double?
    var peakRSSKiB: Int
    var cpuSeconds: Double
    var diskBytes: UInt64
}

/// The runs of one writer on one workload.
struct Series {
    var label: String
    var command: String
    var samples: [Sample] = []

    var seconds: Double { median(samples.map(\.seconds)) }
    var inProcessSeconds: Double? {
        let values = samples.compactMap(\.inProcessSeconds)
        return values.isEmpty ? nil : median(values)
    }
    var peakRSSKiB: Int { samples.map(\.peakRSSKiB).max() ?? 0 }
    var cpuSeconds: Double { median(samples.map(\.cpuSeconds)) }
    var diskBytes: UInt64 { samples.last?.diskBytes ?? 0 }
    var runList: String { samples.map { Fmt.f($0.seconds, 3) }.joined(separator: ", ") }
}

final class Bench {
    let options: Options
    let work: String
    let selfExe: String
    let gitEnv: [String]
    let selfEnv: [String]
    var corpus: Corpus?
    private var counter = 0
    var lines: [String] = []

    init(options: Options) throws {
        self.options = options
        work = try Posix.makeTempDirectory(in: options.directory, prefix: "storebench-")
        selfExe = try BenchProcess.selfExecutable()
        let path = Posix.getenv("PATH") ?? "/usr/local/bin:/usr/bin:/bin"
        try Posix.mkdir(work + "/home")
        // A private HOME and no system config: no user or system git settings leak in.
        gitEnv = ["PATH=" + path, "HOME=" + work + "/home", "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C"]
        selfEnv = ["PATH=" + path, "LC_ALL=C"]
    }

    /// A report line, to stdout (unbuffered, so it interleaves correctly with progress on stderr).
    func say(_ text: String = "") {
        var line = text + "\n"
        line.withUTF8 { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(1, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { break }
                offset += n
            }
        }
        lines.append(text)
    }

    func progress(_ text: String) {
        var err = text + "\n"
        err.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    private func fresh(_ name: String) -> String {
        counter += 1
        return work + "/\(name)-\(counter)"
    }

    func remove(_ path: String) throws {
        try Spawn.check(["rm", "-rf", path], environment: selfEnv)
    }

    // MARK: Runners

    /// Creates a fresh store, runs `phase` in a child, measures it, optionally verifies, removes it.
    func satchel(_ phase: Phase, input: String, verify: ((ObjectStore, [String: String]) throws -> Void)? = nil)
        throws -> Sample
    {
        let root = fresh("satchel")
        _ = try ObjectStore.create(at: root)
        let result = root + ".result"
        let log = root + ".log"
        Posix.syncAll()
        let child = try Spawn.check([selfExe, "--phase", phase.rawValue, "--store", root, "--input", input,
                                     "--result", result],
                                    environment: selfEnv, stdout: log, stderr: log)
        let values = try Phase.readResult(result)
        guard let peak = values["peakRSSKiB"].flatMap({ Int($0) }) else { throw BenchError("child reported no RSS") }
        let store = try ObjectStore(root: root)
        let disk = try store.stats().bytes
        try verify?(store, values)
        try remove(root)
        try? remove(result)
        try? remove(log)
        return Sample(seconds: child.seconds, inProcessSeconds: values["seconds"].flatMap(Double.init),
                      peakRSSKiB: peak, cpuSeconds: child.userSeconds + child.systemSeconds,
                      diskBytes: disk)
    }

    /// Creates a fresh bare repository, runs `git -C <repo> <args>` with `stdin`, measures it.
    func git(_ args: [String], stdin: String? = nil, verify: ((String) throws -> Void)? = nil) throws -> Sample {
        let repo = fresh("git") + ".git"
        try Spawn.check(["git", "init", "--bare", "-q", repo], environment: gitEnv)
        let log = repo + ".log"
        Posix.syncAll()
        let child = try Spawn.check(["git", "-C", repo] + args, environment: gitEnv, stdin: stdin,
                                    stdout: "/dev/null", stderr: log, timeWrapper: true)
        let disk = Posix.treeSize(repo + "/objects")
        try verify?(repo)
        try remove(repo)
        try? remove(log)
        return Sample(seconds: child.seconds, inProcessSeconds: nil, peakRSSKiB: child.peakRSSKiB,
                      cpuSeconds: child.userSeconds + child.systemSeconds, diskBytes: disk)
    }

    func tool(_ argv: [String]) throws -> Sample {
        Posix.syncAll()
        let child = try Spawn.check(argv, environment: selfEnv, stdout: "/dev/null", timeWrapper: true)
        return Sample(seconds: child.seconds, inProcessSeconds: nil, peakRSSKiB: child.peakRSSKiB,
                      cpuSeconds: child.userSeconds + child.systemSeconds, diskBytes: 0)
    }

    func gitOutput(_ args: [String]) throws -> String {
        try Spawn.output(["git"] + args, environment: gitEnv, scratch: work)
    }

    /// `git count-objects -v` as a dictionary.
    func countObjects(_ repo: String) throws -> [String: Int] {
        var values: [String: Int] = [:]
        for line in try gitOutput(["-C", repo, "count-objects", "-v"]).split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, let n = Int(parts[1].trimmingPrefix(" ")) { values[String(parts[0])] = n }
        }
        return values
    }

    /// Runs `bodies[i](run)` for each run; the order of the writers alternates between runs so
    /// that disk noise and cache state do not favour one of them.
    func alternate(_ series: inout [Series], _ bodies: [(Int) throws -> Sample]) throws {
        try alternateRuns(options.runs, &series, bodies)
    }
}

extension Substring {
    func trimmingPrefix(_ prefix: String) -> Substring {
        var s = self
        while s.hasPrefix(prefix) { s = s.dropFirst(prefix.count) }
        return s
    }
}

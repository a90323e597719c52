import BenchSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What one child process cost, measured by the parent.
struct ChildRun {
    /// Wall time from just before posix_spawn to wait4's return.
    var seconds: Double
    /// The child's own peak RSS (wait4's rusage, per child), KiB.
    var peakRSSKiB: Int
    var userSeconds: Double
    var systemSeconds: Double
    var exitStatus: Int32
}

/// Runs children with posix_spawn and reaps them with wait4, which reports the rusage of that
/// one child.
///
/// Peak RSS needs care. getrusage(RUSAGE_CHILDREN) is a running maximum over every child reaped
/// so far (a 256 MiB `git hash-object` would leak its peak into every later reading), and
/// Foundation's Process reaps by itself, so it cannot hand out per-child rusage. Even wait4's
/// per-child ru_maxrss is floored by the spawner: at exec the kernel folds the old address
/// space's high-water mark into ru_maxrss, and posix_spawn's vfork child runs in the parent's.
/// So: Satchel children report their own VmHWM; other commands run under GNU time
/// (`/usr/bin/time -f %M`, a ~2 MiB process that forks them) when it is installed.
enum Spawn {
    static let gnuTime = "/usr/bin/time"
    static let hasGNUTime = Posix.exists(gnuTime)

    /// `argv[0]` is looked up in PATH. `stdin`/`stdout`/`stderr` are file paths (nil: inherit).
    /// With `timeWrapper` (and GNU time installed) the peak RSS comes from GNU time.
    static func run(_ argv: [String], environment: [String], stdin: String? = nil,
                    stdout: String? = nil, stderr: String? = nil, timeWrapper: Bool = false) throws -> ChildRun {
        if timeWrapper && hasGNUTime {
            let report = "/tmp/.storebench-time-\(getpid())"
            defer { unlink(report) }
            var run = try run([gnuTime, "-f", "%M", "-o", report, "--"] + argv, environment: environment,
                              stdin: stdin, stdout: stdout, stderr: stderr)
            let lines = ((try? Posix.readText(report)) ?? "").split(separator: "\n")
            guard let kib = lines.last.flatMap({ Int($0) }) else {
                throw BenchError("GNU time gave no RSS for \(argv[0]) (exit \(run.exitStatus))")
            }
            run.peakRSSKiB = kib
            return run
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdin { posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0) }
        if let stdout { posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        if let stderr { posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }

        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        var pid: pid_t = 0
        let start = BenchProcess.now()
        let rc = cArgs.withUnsafeBufferPointer { args in
            cEnv.withUnsafeBufferPointer { env in
                posix_spawnp(&pid, argv[0], &actions, nil, args.baseAddress!, env.baseAddress!)
            }
        }
        guard rc == 0 else { throw BenchError("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw BenchError("wait4 failed: \(Posix.errnoText())") }
        }
        let end = BenchProcess.now()
        let exited = (status & 0x7f) == 0
        let code: Int32 = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return ChildRun(seconds: end - start, peakRSSKiB: usage.ru_maxrss,
                        userSeconds: seconds(usage.ru_utime), systemSeconds: seconds(usage.ru_stime),
                        exitStatus: code)
    }

    /// Runs and throws unless the child exits 0.
    @discardableResult
    static func check(_ argv: [String], environment: [String], stdin: String? = nil,
                      stdout: String? = nil, stderr: String? = nil, timeWrapper: Bool = false) throws -> ChildRun {
        let run = try run(argv, environment: environment, stdin: stdin, stdout: stdout, stderr: stderr,
                          timeWrapper: timeWrapper)
        guard run.exitStatus == 0 else {
            var detail = ""
            if let stderr, let text = try? Posix.readText(stderr) { detail = ": " + String(text.suffix(2000)) }
            throw BenchError("`\(argv.joined(separator: " "))` exited with \(run.exitStatus)\(detail)")
        }
        return run
    }

    /// Runs and returns stdout as text (for `git --version` and checks).
    static func output(_ argv: [String], environment: [String], scratch: String) throws -> String {
        let out = scratch + "/.out"
        try check(argv, environment: environment, stdout: out, stderr: scratch + "/.err")
        return try Posix.readText(out)
    }

    private static func seconds(_ tv: timeval) -> Double {
        Double(tv.tv_sec) + Double(tv.tv_usec) / 1e6
    }
}

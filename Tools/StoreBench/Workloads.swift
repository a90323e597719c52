import BenchSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SatchelStore

/// The git invocations compared against (printed verbatim in the report).
enum GitCommands {
    /// Pack and index fsynced (git's default since 2.36, made explicit).
    static let fastImport = ["-c", "core.fsync=pack,pack-metadata", "-c", "core.fsyncMethod=fsync",
                             "fast-import", "--quiet"]
    /// Each loose object fsynced before it is renamed into place.
    static let hashObjectPaths = ["-c", "core.fsync=loose-object", "-c", "core.fsyncMethod=fsync",
                                  "hash-object", "-w", "--stdin-paths"]
    /// One file; files over core.bigFileThreshold (512 MiB) go to a pack, hence pack too.
    static func hashObjectFile(_ path: String) -> [String] {
        ["-c", "core.fsync=loose-object,pack,pack-metadata", "-c", "core.fsyncMethod=fsync",
         "hash-object", "-w", path]
    }

    static func display(_ args: [String], stdin: String? = nil) -> String {
        "git -C REPO " + args.joined(separator: " ") + (stdin.map { " < " + $0 } ?? "")
    }
}

struct AttachmentResult {
    var mib: Int
    var runs: Int
    var series: [Series]  // sha256sum, Satchel, git, dd
    var stored: Bool
}

extension Bench {
    // MARK: Machine

    func machine() throws {
        let cpus = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        let cpuinfo = (try? Posix.readText("/proc/cpuinfo")) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingPrefix(" ") } ?? "unknown"
        let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }.map(String.init) ?? ""
        let shaNI = flags.split(separator: " ").contains("sha_ni")
        let memKiB = ((try? Posix.readText("/proc/meminfo")) ?? "").split(separator: "\n")
            .first { $0.hasPrefix("MemTotal:") }
            .flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        var uts = utsname()
        uname(&uts)
        let kernel = withUnsafeBytes(of: uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        // The file system holding the work directory: the longest mount point that prefixes it.
        var mount = ("?", "?", "?")
        var best = -1
        for line in ((try? Posix.readText("/proc/mounts")) ?? "").split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            guard f.count >= 4 else { continue }
            let point = f[1]
            if (work == point || work.hasPrefix(point == "/" ? "/" : point + "/")) && point.count > best {
                best = point.count
                mount = (f[0], f[2], point)
            }
        }
        var disk = mount.0
        if disk.hasPrefix("/dev/") {
            let name = String(disk.dropFirst(5))
            let rotational = ((try? Posix.readText("/sys/block/\(name)/queue/rotational")) ?? "?")
                .trimmingCharacters()
            disk += " (\(mount.1) at \(mount.2); rotational=\(rotational))"
        } else {
            disk += " (\(mount.1) at \(mount.2))"
        }
        let git = try gitOutput(["--version"]).trimmingCharacters()
        say("## Machine")
        say()
        say("| | |")
        say("|---|---|")
        say("| CPUs (nproc) | \(cpus) |")
        say("| CPU model | \(model)\(shaNI ? " (sha_ni)" : "") |")
        say("| memory | \(memKiB / 1024) MiB |")
        say("| kernel | Linux \(kernel) |")
        say("| work directory | \(work) on \(disk) |")
        say("| git | \(git) |")
        say()
    }

    // MARK: Small objects

    func writeCorpus() throws -> Corpus {
        progress("writing corpus: \(options.objects) objects ...")
        let corpus = try Corpus.write(in: work, objects: options.objects, looseSubset: options.looseSubset)
        self.corpus = corpus
        return corpus
    }

    func batchComparison(_ corpus: Corpus) throws -> [Series] {
        progress("small objects, batched")
        var series = [
            Series(label: "Satchel `batch()` + \(Fmt.grouped(corpus.objects))× `put` + `commit()`",
                   command: "StoreBench --phase batch (one pack, one durable commit)"),
            Series(label: "git fast-import", command: GitCommands.display(GitCommands.fastImport, stdin: "objects.fi")),
        ]
        let objects = corpus.objects
        try alternate(&series, [
            { run in
                try self.satchel(.batch, input: corpus.streamPath) { store, values in
                    guard values["objects"] == String(objects) else {
                        throw BenchError("Satchel batch added \(values["objects"] ?? "?") objects, expected \(objects)")
                    }
                    if run == 0 {
                        let stats = try store.stats()
                        guard stats.packs == 1, stats.packedObjects == objects, stats.looseObjects == 0 else {
                            throw BenchError("Satchel batch left \(stats.packs) packs, \(stats.packedObjects) packed, \(stats.looseObjects) loose")
                        }
                        let report = try store.fsck()
                        guard report.isClean, report.objects == objects else {
                            throw BenchError("fsck after batch: \(report.objects) objects, problems: \(report.problems.prefix(3))")
                        }
                    }
                }
            },
            { run in
                try self.git(GitCommands.fastImport, stdin: corpus.streamPath) { repo in
                    if run == 0 {
                        let counts = try self.countObjects(repo)
                        guard counts["in-pack"] == objects, counts["packs"] == 1 else {
                            throw BenchError("git fast-import: \(counts)")
                        }
                    }
                }
            },
        ])
        return series
    }

    func looseComparison(_ corpus: Corpus) throws -> [Series] {
        progress("small objects, loose durable (subset of \(corpus.looseObjects))")
        var series = [
            Series(label: "Satchel `put(.blob, bytes)` ×\(Fmt.grouped(corpus.looseObjects)) (loose, durable)",
                   command: "StoreBench --phase loose (reads each file, put)"),
            Series(label: "git hash-object -w --stdin-paths",
                   command: GitCommands.display(GitCommands.hashObjectPaths, stdin: "loose-paths.txt")),
        ]
        let objects = corpus.looseObjects
        try alternate(&series, [
            { run in
                try self.satchel(.loose, input: corpus.pathsPath) { store, _ in
                    if run == 0 {
                        let report = try store.fsck()
                        guard report.isClean, report.objects == objects else {
                            throw BenchError("fsck after loose puts: \(report.objects) objects, problems: \(report.problems.prefix(3))")
                        }
                    }
                }
            },
            { run in
                try self.git(GitCommands.hashObjectPaths, stdin: corpus.pathsPath) { repo in
                    if run == 0 {
                        let counts = try self.countObjects(repo)
                        guard counts["count"] == objects else { throw BenchError("git hash-object: \(counts)") }
                    }
                }
            },
        ])
        return series
    }

    // MARK: Attachment

    /// Writes `mib` MiB of random bytes (fsynced) and returns the ID Satchel must give it.
    func writeAttachment(mib: Int) throws -> (path: String, id: ObjectID) {
        progress("writing \(mib) MiB random attachment ...")
        let path = work + "/attachment-\(mib)MiB.bin"
        let length = UInt64(mib) << 20
        var source = GeneratedSource(length: length, pattern: .random(seed: UInt64(mib)))
        var hasher = ObjectHasher(kind: .blob, length: length)
        let fd = try Posix.createFile(path)
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            try buffer.withUnsafeBytes { raw in
                let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                hasher.update(chunk)
                try Posix.writeAll(fd, chunk)
            }
        }
        fsync(fd)
        return (path, hasher.finalize())
    }

    func attachmentComparison(mib: Int, runs: Int) throws -> AttachmentResult {
        let (path, expected) = try writeAttachment(mib: mib)
        progress("attachment \(mib) MiB")
        // Warm the page cache so every reader starts from the same state.
        _ = try tool(["cat", path])
        let name = "attachment-\(mib)MiB.bin"
        var series = [
            Series(label: "sha256sum (reference)", command: "sha256sum \(name)"),
            Series(label: "Satchel `putFile` (durable, streamed)", command: "StoreBench --phase attach"),
            Series(label: "git hash-object -w", command: GitCommands.display(GitCommands.hashObjectFile(name))),
            Series(label: "dd + fsync (copy floor, reference)",
                   command: "dd if=\(name) of=COPY bs=1M conv=fsync status=none"),
        ]
        var stored = true
        let length = UInt64(mib) << 20
        try alternateRuns(runs, &series, [
            { _ in try self.tool(["sha256sum", path]) },
            { _ in
                try self.satchel(.attach, input: path) { store, values in
                    guard values["id"] == expected.description else {
                        throw BenchError("Satchel stored the attachment as \(values["id"] ?? "?"), expected \(expected)")
                    }
                    let stats = try store.stats()
                    // Stored form: one flag byte + header + payload; anything much smaller was deflated.
                    if stats.bytes < length { stored = false }
                }
            },
            { _ in try self.git(GitCommands.hashObjectFile(path)) },
            { _ in
                let copy = self.work + "/dd-copy.bin"
                var sample = try self.tool(["dd", "if=" + path, "of=" + copy, "bs=1M", "conv=fsync", "status=none"])
                sample.diskBytes = Posix.fileSize(copy)
                try self.remove(copy)
                return sample
            },
        ])
        try remove(path)
        return AttachmentResult(mib: mib, runs: runs, series: series, stored: stored)
    }

    func alternateRuns(_ runs: Int, _ series: inout [Series], _ bodies: [(Int) throws -> Sample]) throws {
        for run in 0..<runs {
            let order = run % 2 == 0 ? Array(bodies.indices) : Array(bodies.indices.reversed())
            for i in order {
                progress("  run \(run + 1)/\(runs): \(series[i].label)")
                series[i].samples.append(try bodies[i](run))
            }
        }
    }
}

extension StringProtocol {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\n" || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\n" || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}

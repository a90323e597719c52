import BenchSupport
import SatchelStore

/// The Satchel side of each measurement, run in a child process (`StoreBench --phase <name>`)
/// so that its peak RSS is its own. The child times its own work too and writes `key=value`
/// lines to the result file; the parent's wall-clock time (spawn to reap) is the headline figure.
enum Phase: String, CaseIterable {
    /// Baseline: a StoreBench process that does nothing (RSS floor of the binary).
    case noop
    /// One `batch()`, every blob of the fast-import stream `put`, one durable `commit()`.
    case batch
    /// One durable loose `put(.blob, bytes)` per file listed in the paths file.
    case loose
    /// `putFile(.blob, path:)` of one large file (streamed, durable).
    case attach

    struct Arguments {
        var store = ""
        var input = ""
        var result = ""
    }

    func run(_ args: Arguments) throws {
        var result: [(String, String)] = []
        let start = BenchProcess.now()
        switch self {
        case .noop:
            break
        case .batch:
            let store = try ObjectStore(root: args.store)
            var reader = try FastImportReader(path: args.input)
            defer { reader.close() }
            let batch = try store.batch()
            var bytes = 0
            while let blob = try reader.nextBlob() {
                try batch.put(.blob, blob)
                bytes += blob.count
            }
            let pack = try batch.commit()
            result += [("objects", String(batch.added)), ("reused", String(batch.reused)),
                       ("bytes", String(bytes)), ("pack", pack?.name ?? "-")]
        case .loose:
            let store = try ObjectStore(root: args.store)
            let paths = try Posix.readText(args.input).split(separator: "\n")
            var bytes = 0
            for path in paths {
                let payload = try Posix.readFile(String(path))
                try store.put(.blob, payload)
                bytes += payload.count
            }
            result += [("objects", String(paths.count)), ("bytes", String(bytes))]
        case .attach:
            let store = try ObjectStore(root: args.store)
            let id = try store.putFile(.blob, path: args.input)
            result += [("id", id.description)]
        }
        let seconds = BenchProcess.now() - start
        result += [("seconds", String(seconds)), ("peakRSSKiB", String(BenchProcess.selfPeakRSSKiB()))]
        let text = result.map { "\($0.0)=\($0.1)\n" }.joined()
        try Posix.writeFile(args.result, Array(text.utf8))
    }

    /// Parses a result file written by ``run(_:)``.
    static func readResult(_ path: String) throws -> [String: String] {
        var values: [String: String] = [:]
        for line in try Posix.readText(path).split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return values
    }
}

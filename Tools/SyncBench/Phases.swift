import BenchSupport
import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelSync

/// The measured work, each in a child process (`SyncBench --phase <name> …`) so its peak RSS
/// is its own. The child times the library call itself (store already opened) and writes
/// `key=value` lines to the result file; the parent also records spawn-to-exit wall time.
enum Phase: String, CaseIterable {
    /// `createBundle(for: target, targetRole:, to:)` on the store (no `targetHas`: a bundle file
    /// for the drop folder, as `satchel bundle create --for` makes).
    case create
    /// `applyBundle(path)` on the store.
    case apply
    /// Does nothing: the RSS floor of a SyncBench child.
    case noop

    static func main(_ arguments: [String]) throws {
        guard let name = arguments.first, let phase = Phase(rawValue: name) else {
            throw BenchError("--phase needs one of \(Phase.allCases.map(\.rawValue))")
        }
        var args: [String: String] = [:]
        var i = 1
        while i + 1 < arguments.count {
            args[arguments[i]] = arguments[i + 1]
            i += 2
        }
        func arg(_ key: String) throws -> String {
            guard let value = args[key] else { throw BenchError("phase \(name) needs \(key)") }
            return value
        }
        var result: [(String, String)] = []
        switch phase {
        case .noop:
            result.append(("seconds", "0"))
        case .create:
            let repository = try Repository.open(at: try arg("--store"))
            let role = StoreConfig.Role(rawValue: try arg("--role")) ?? .portal
            let engine = SyncEngine(repository)
            let cpu = BenchProcess.cpuSeconds()
            let (summary, seconds) = try Clock.time {
                try engine.createBundle(for: try arg("--target"), targetRole: role, to: try arg("--out"))
            }
            result += [("seconds", String(seconds)), ("cpu", String(BenchProcess.cpuSeconds() - cpu)), ("bytes", String(summary.bytes)),
                       ("objects", String(summary.objects)), ("threads", String(summary.threads)),
                       ("full", String(summary.full)), ("headerBytes", String(try Self.headerLength(try arg("--out"))))]
        case .apply:
            let repository = try Repository.open(at: try arg("--store"))
            let engine = SyncEngine(repository)
            let cpu = BenchProcess.cpuSeconds()
            let (applied, seconds) = try Clock.time { try engine.applyBundle(try arg("--bundle")) }
            result += [("seconds", String(seconds)), ("cpu", String(BenchProcess.cpuSeconds() - cpu)), ("threads", String(applied.threads)),
                       ("objects", String(applied.objects)), ("merged", String(applied.merged)),
                       ("fastForwarded", String(applied.fastForwarded)), ("unchanged", String(applied.unchanged))]
        }
        result.append(("peakRSSKiB", String(BenchProcess.selfPeakRSSKiB())))
        try ResultFile.write(try arg("--result"), result)
    }

    /// The XML header's length in a bundle file (big-endian UInt32 at offset 12; docs/FORMAT.md).
    static func headerLength(_ path: String) throws -> Int {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw BenchError("cannot open \(path)") }
        defer { try? handle.close() }
        let prefix = [UInt8](handle.readData(ofLength: 16))
        guard prefix.count == 16 else { throw BenchError("\(path) is too short for a bundle") }
        return prefix[12..<16].reduce(0) { $0 << 8 | Int($1) }
    }
}

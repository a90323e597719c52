import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore

/// Something a fuzz input made the engine do that it must never do (a refused input changed the
/// store, a round trip lost data, a 5xx answer). libFuzzer's driver traps on it, the replay
/// test records it.
public struct FuzzFinding: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The small clinic the store-backed targets work on, built once per process under a scratch
/// directory (on /dev/shm when it exists, so per-input file work stays in memory): a portal
/// and a workstation with fixed replica IDs (so seeds made by one process apply in another),
/// the clinic directory of fixtures/xml/valid/directory.xml, and one message sent from each.
public final class World {
    public static let portalReplica = "r00000000000000000a11"
    public static let workstationReplica = "r00000000000000000b22"
    /// What `Authorization: Bearer` placeholders in HTTP seeds are replaced with (tokens are random).
    public static let tokenPlaceholder = Array("@TOKEN@".utf8)

    public let scratch: String
    public let portal: Repository
    public let workstation: Repository

    /// `scratch` must not exist yet; it is removed by ``remove()``.
    public init(scratch: String) throws {
        self.scratch = scratch
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let directory = try Self.fixtureBytes("xml/valid/directory.xml")
        portal = try Self.store(scratch + "/portal", role: .portal, replica: Self.portalReplica, directory: directory)
        workstation = try Self.store(scratch + "/workstation", role: .workstation, replica: Self.workstationReplica,
                                     directory: directory)
        var request = ComposeRequest(author: "s1")
        request.patient = "p1"
        request.subject = "Lab results"
        request.body = .text("Your results are ready.")
        _ = try workstation.send(request)
    }

    public func remove() { try? FileManager.default.removeItem(atPath: scratch) }

    /// A store whose config names `replica` (set before anything depends on the replica ID).
    private static func store(_ path: String, role: StoreConfig.Role, replica: String, directory: [UInt8]) throws -> Repository {
        let created = try Repository.create(at: path, role: role, portalURL: role == .portal ? "https://portal.example.org" : nil)
        var config = created.config
        config.replica = replica
        try created.store.writeRootFile(Repository.configFile, try config.encoded())
        let repository = try Repository.open(at: path)
        _ = try repository.importDirectory(directory)
        return repository
    }

    /// fixtures/ of this checkout (or `SATCHEL_FIXTURES`).
    static var fixturesRoot: String {
        if let root = ProcessInfo.processInfo.environment["SATCHEL_FIXTURES"] { return root }
        // Tools/Fuzz/Kit/World.swift → repository root.
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path + "/fixtures"
    }

    static func fixtureBytes(_ relative: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: fixturesRoot + "/" + relative)))
    }

    /// A fresh scratch directory for one harness.
    public static func makeScratch(_ target: String) -> String {
        if let root = ProcessInfo.processInfo.environment["SATCHEL_FUZZ_SCRATCH"] {
            return root + "/" + target + "-" + UUID().uuidString.prefix(8)
        }
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return base + "/satchel-fuzz-\(getpid())-" + target + "-" + UUID().uuidString.prefix(8)
    }

    /// Every file under `root` with its bytes, except temporary files and locks (which a refused
    /// operation may create and remove), to prove a refused input changed nothing.
    static func snapshot(_ root: String) -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        let fm = FileManager.default
        guard let enumerator = fm.enumerator(atPath: root) else { return result }
        while let relative = enumerator.nextObject() as? String {
            if relative == "tmp" || relative.hasPrefix("tmp/") || relative.hasSuffix(".lock") { continue }
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: root + "/" + relative, isDirectory: &isDirectory) else { continue }
            // Arrays, not Data: LeakSanitizer cannot follow Data's tagged references in a
            // process-long snapshot and reported them as leaks at exit.
            result[relative] = isDirectory.boolValue ? [] : (fm.contents(atPath: root + "/" + relative).map { Array($0) } ?? [])
        }
        return result
    }

    /// Replaces every occurrence of `placeholder` in `bytes` with `replacement`.
    public static func substitute(_ bytes: [UInt8], _ placeholder: [UInt8], with replacement: [UInt8]) -> [UInt8] {
        guard !placeholder.isEmpty, bytes.count >= placeholder.count else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if i + placeholder.count <= bytes.count && bytes[i] == placeholder[0]
                && bytes[i..<(i + placeholder.count)].elementsEqual(placeholder) {
                out.append(contentsOf: replacement)
                i += placeholder.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}

/// The inputs a target's corpus starts from (what Tools/Fuzz/run.sh copies to its scratch
/// corpus, and what SatchelFuzzTests replays): fixtures/fuzz/<target>, the minimized crashes of
/// fixtures/fuzz/crashes/<target>, and for the manifest target the XML fixtures.
public enum FuzzCorpus {
    public static var fixturesRoot: String { World.fixturesRoot }

    public static func directories(for target: FuzzTarget) -> [String] {
        let root = World.fixturesRoot
        var directories = [root + "/fuzz/" + target.rawValue, root + "/fuzz/crashes/" + target.rawValue]
        if target == .manifest { directories += ["valid", "hostile", "canonical"].map { root + "/xml/" + $0 } }
        return directories
    }

    /// Every regular file of ``directories(for:)`` (README files aside), sorted.
    public static func files(for target: FuzzTarget) -> [String] {
        let fm = FileManager.default
        return directories(for: target).flatMap { directory -> [String] in
            let names = (try? fm.contentsOfDirectory(atPath: directory)) ?? []
            return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { directory + "/" + $0 }
        }
    }
}

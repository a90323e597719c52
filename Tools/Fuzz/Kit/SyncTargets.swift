import Crypto
import Foundation
import SatchelBackup
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelSync

/// Errors that are a clear refusal of bad input by the engine (anything else from a reader is
/// a finding: a Foundation or POSIX error is not an answer a user can act on).
func isEngineError(_ error: any Error) -> Bool {
    error is SyncError || error is StoreError || error is ManifestError || error is MessagingError || error is BackupError
}

/// Bundle reader, verification and apply. The input is either a whole bundle file (starts with
/// `SATCHBDL`; its trailing SHA-256 is recomputed) or, so that mutations reach the contents, the
/// bundle's 12 length bytes (header length, pack length) and then its UNCOMPRESSED header and
/// pack: the harness adds magic and version, deflates and appends the checksum.
///
/// It is applied to the world's workstation. A refused bundle must leave every file of the
/// store as it was; an applied one must leave a store that passes fsck, after which the store
/// is replaced by a pristine copy.
final class BundleHarness: FuzzHarness {
    let world: World
    let pristine: String
    let target: String
    let bundlePath: String
    let baseline: [String: [UInt8]]
    private(set) var repository: Repository
    private(set) var applied = 0

    init() throws {
        world = try World(scratch: World.makeScratch("bundle"))
        target = world.workstation.store.root
        pristine = world.scratch + "/pristine"
        bundlePath = world.scratch + "/input.bundle"
        try FileManager.default.copyItem(atPath: target, toPath: pristine)
        repository = world.workstation
        baseline = World.snapshot(target)
    }

    static let magic = Array("SATCHBDL".utf8)

    /// The bundle file an input stands for.
    static func bundleFile(for input: [UInt8]) throws -> [UInt8] {
        var file: [UInt8]
        if input.starts(with: magic) || input.count < 12 {
            file = input.count >= 32 ? Array(input[0..<(input.count - 32)]) : input
        } else {
            file = magic + [0, 0, 0, 2] + input[0..<12]
            let sink = DeflateSink(level: 1) { file.append(contentsOf: $0) }
            try sink.write(Array(input[12...]))
            try sink.finish()
        }
        if file.count >= 24 { file += Array(SHA256.hash(data: file)) }
        return file
    }

    /// The body form of a bundle file (the seed format described above).
    static func bodyForm(ofBundle file: [UInt8]) throws -> [UInt8] {
        let inflating = InflatingSource(source: BufferSource(Array(file[24..<(file.count - 32)])))
        var body = Array(file[12..<24])
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try inflating.read(into: $0) }
            if n == 0 { break }
            body += buffer[0..<n]
        }
        return body
    }

    func run(_ input: [UInt8]) throws(FuzzFinding) {
        do { try World.write(try Self.bundleFile(for: input), to: bundlePath) } catch {
            throw FuzzFinding("cannot write the scratch bundle: \(error)")
        }
        do {
            try SyncEngine(repository).applyBundle(bundlePath)
        } catch {
            guard isEngineError(error) else {
                throw FuzzFinding("a bad bundle gave an error that is not an engine error: \(type(of: error)): \(error)")
            }
            let after = World.snapshot(target)
            guard after == baseline else {
                let changed = Set(after.keys).symmetricDifference(baseline.keys).union(after.keys.filter { baseline[$0] != nil && baseline[$0] != after[$0] })
                throw FuzzFinding("a refused bundle (\(error)) changed the store: \(changed.sorted())")
            }
            return
        }
        applied += 1
        let report: FsckReport
        do { report = try repository.fsck() } catch {
            throw FuzzFinding("fsck could not run after an applied bundle: \(error)")
        }
        if !report.isClean {
            throw FuzzFinding("an applied bundle left a store that fails fsck: \(report)")
        }
        do {
            try FileManager.default.removeItem(atPath: target)
            try FileManager.default.copyItem(atPath: pristine, toPath: target)
            repository = try Repository.open(at: target)
        } catch {
            throw FuzzFinding("cannot restore the pristine store: \(error)")
        }
    }

    func tearDown() { world.remove() }
}

/// Backup archive reader. The input is an archive whose trailing SHA-256 is recomputed; it is
/// verified (no passphrase), and an archive that verifies clean is restored into a new
/// directory, which must then pass fsck. A failed restore must leave nothing behind.
final class BackupHarness: FuzzHarness {
    let scratch: String
    let archivePath: String
    private var restores = 0

    init() throws {
        scratch = World.makeScratch("backup")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        archivePath = scratch + "/input.satchel-backup"
    }

    func run(_ input: [UInt8]) throws(FuzzFinding) {
        do { try World.write(PackIndexHarness.withChecksum(input), to: archivePath) } catch {
            throw FuzzFinding("cannot write the scratch archive: \(error)")
        }
        let report: Backup.VerifyReport
        do {
            report = try Backup.verify(archivePath, passphrase: nil)
        } catch {
            guard isEngineError(error) else {
                throw FuzzFinding("a bad archive gave an error that is not an engine error: \(type(of: error)): \(error)")
            }
            return
        }
        guard report.isClean, report.base == nil else { return }
        restores += 1
        let target = scratch + "/restore-\(restores)"
        do {
            try Backup.restore(archivePath, to: target, passphrase: nil)
        } catch {
            guard isEngineError(error) else {
                throw FuzzFinding("restoring an archive that verified clean gave an error that is not an engine error: \(type(of: error)): \(error)")
            }
            if FileManager.default.fileExists(atPath: target) {
                throw FuzzFinding("a failed restore (\(error)) left \(target) behind")
            }
            return
        }
        defer { try? FileManager.default.removeItem(atPath: target) }
        let fsck: FsckReport
        do { fsck = try Repository.open(at: target).fsck() } catch {
            throw FuzzFinding("a restored store does not open: \(error)")
        }
        if !fsck.isClean {
            throw FuzzFinding("a restored store fails fsck: \(fsck)")
        }
    }

    func tearDown() { try? FileManager.default.removeItem(atPath: scratch) }
}

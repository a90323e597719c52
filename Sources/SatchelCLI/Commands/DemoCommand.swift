import ArgumentParser
import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore

/// `satchel demo`: the story end to end in a temporary directory, narrated as it runs.
///
/// It grows with the engine: today it exercises the object store (the foundation every message,
/// draft and attachment lives in); messaging, sync and backup chapters join as they land.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the Satchel story end to end in a temporary directory, narrated.",
        discussion: """
            Creates a workstation and a portal store under a new temporary directory and walks \
            through what Satchel does, printing each step. The directory is kept so you can \
            explore it with the CLI afterwards.

            Example:
              swift run satchel demo
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "Directory to create the demo stores in (default: a new temporary directory).")
    var directory: String?

    struct Summary: Encodable {
        var directory: String
        var workstation: String
        var portal: String
        var objects: Int
        var bytes: UInt64
        var fsckProblems: Int
        var seconds: Double
    }

    func run() async throws {
        let started = Date()
        let base = directory ?? (NSTemporaryDirectory() + "satchel-demo-" + String(UUID().uuidString.prefix(8)).lowercased())
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let say: (String) -> Void = { text in if !global.json { Output.line(text) } }

        say("Satchel demo in \(base)\n")
        say("1. Two stores: a clinic laptop (workstation) and the patient portal.")
        let laptopPath = base + "/laptop", portalPath = base + "/portal"
        let laptop = try Repository.create(at: laptopPath, role: .workstation, name: "Front desk laptop")
        let portal = try Repository.create(at: portalPath, role: .portal, name: "Patient portal", portalURL: "https://portal.example.org")
        say("   laptop replica \(laptop.config.replica), portal replica \(portal.config.replica)")

        say("2. An attachment streams in with bounded memory; its ID is the SHA-256 of its content.")
        let scan = base + "/lab-results.pdf"
        try Self.writeSampleFile(scan, megabytes: 8)
        let t0 = Date()
        let attachment = try laptop.store.putFile(.blob, path: scan)
        say("   stored 8 MiB as \(attachment.short)… in \(Self.ms(since: t0))")

        say("3. Storing the same content again is free: one object, referenced many times.")
        let again = try laptop.store.putFile(.blob, path: scan)
        say("   same ID: \(again == attachment), objects in store: \(try laptop.store.stats().objects)")

        say("4. A bulk write (2,000 small manifests) lands in one pack with one durability barrier.")
        let t1 = Date()
        let batch = try laptop.store.batch()
        var last = attachment
        for i in 0..<2000 {
            let text = "<demo n=\"\(i)\" attachment=\"\(attachment)\"/>"
            last = try batch.put(.manifest, Array(text.utf8))
        }
        let pack = try batch.commit()
        say("   \(pack?.objects ?? 0) objects in \(pack?.name.prefix(17) ?? "-")… in \(Self.ms(since: t1))")

        say("5. A ref names the head; updates are compare-and-swap under a lease lock.")
        let head = try RefName("threads/demo")
        try laptop.store.refs.update(head, from: nil, to: last)
        do {
            try laptop.store.refs.update(head, from: nil, to: attachment)
        } catch let error as StoreError where error.code == .conflict {
            say("   a stale update was refused: \(error.message)")
        }

        say("6. Damage is caught: fsck rehashes every object and follows every reference.")
        let report = laptop.store.fsck()
        say("   \(report.objects) objects checked, \(report.problems.count) problems")

        say("7. gc keeps everything reachable and everything recent.")
        let gc = try laptop.store.gc()
        say("   \(gc.reachable) reachable, \(gc.keptYoung) recent kept, \(gc.removedLoose) removed")

        let stats = try laptop.store.stats()
        let summary = Summary(directory: base, workstation: laptopPath, portal: portalPath, objects: stats.objects,
                              bytes: stats.bytes, fsckProblems: report.problems.count,
                              seconds: Date().timeIntervalSince(started))
        if global.json {
            try Output.json(summary)
        } else {
            say("""

                Done in \(String(format: "%.2f", summary.seconds)) s: \(summary.objects) objects, \
                \(Output.bytes(summary.bytes)) on disk, fsck clean: \(report.isClean).
                Explore:
                  satchel stats --store \(laptopPath)
                  satchel fsck --store \(laptopPath)
                  satchel ref list --store \(laptopPath)
                """)
        }
        if !report.isClean { throw ExitCode(ExitStatus.damage.rawValue) }
    }

    static func ms(since start: Date) -> String {
        String(format: "%.0f ms", Date().timeIntervalSince(start) * 1000)
    }

    /// A compressible sample document written in 1 MiB pieces (never held whole).
    static func writeSampleFile(_ path: String, megabytes: Int) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var source = GeneratedSource(length: UInt64(megabytes) << 20, pattern: .text(seed: 42))
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            try handle.write(contentsOf: chunk[0..<n])
        }
    }
}

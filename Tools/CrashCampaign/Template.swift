// The prepared clinic every trial copies.
import Foundation

/// The small clinic of the crash campaign and the fault walk (fixtures/clinic/small-directory.xml),
/// found from this source file so the tool runs from any directory.
let directoryFixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("fixtures/clinic/small-directory.xml").path

enum SetupError: Error { case failed(String) }

/// The prepared clinic every trial copies.
struct Template {
    let root: String
    let thread: String
    let peerReplica: String
    /// A portal store that has registered `ws` (token in `root/ws.token`), and one with queued
    /// notifications (`outbox`).
    static let stores = ["ws", "peer", "portal", "outbox"]

    init(runner: Runner, root: String) throws {
        self.root = root
        let fm = FileManager.default
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        func must(_ args: [String]) throws -> Outcome {
            let o = runner.run(args)
            guard o.status == 0 else { throw SetupError.failed("\(args.joined(separator: " ")): \(o.status) \(o.stderr)") }
            return o
        }
        try fm.copyItem(atPath: directoryFixture, toPath: root + "/directory.xml")
        _ = fm.createFile(atPath: root + "/scan.pdf", contents: Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ ($0 >> 7)) }))
        _ = fm.createFile(atPath: root + "/big.txt", contents: Data(String(repeating: "Lab results follow. ", count: 100_000).utf8))
        // Past a batch's 4 MiB: stored packed and zlib-encoded, so the bundle carries it as that
        // entry (zlib-blobs-1) and apply and restore adopt it as it came.
        _ = fm.createFile(atPath: root + "/notes.txt",
                          contents: Data((0..<250_000).map { "Visit \($0): results reviewed, follow-up as planned.\n" }.joined().utf8))
        for name in ["ws", "peer"] {
            _ = try must(["init", root + "/" + name, "--role", "workstation"])
            _ = try must(["directory", "import", root + "/directory.xml", "--store", root + "/" + name])
        }
        let sent = try must(["compose", "--store", root + "/ws", "--as", "s1", "--to", "u1", "--subject", "Before",
                             "--body", "Acknowledged before any crash.", "--attach", root + "/notes.txt", "--send", "--json"])
        let json = try JSONSerialization.jsonObject(with: Data(sent.stdout.utf8)) as? [String: Any]
        guard let thread = ((json?["threads"] as? [[String: Any]])?.first?["thread"]) as? String else {
            throw SetupError.failed("compose printed no thread")
        }
        self.thread = thread
        _ = try must(["compose", "--store", root + "/peer", "--as", "s2", "--to", "u2", "--subject", "From the peer",
                      "--body", "A peer's message.", "--send"])
        let stats = try must(["stats", "--store", root + "/ws", "--json"])
        let wsReplica = ((try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])?["replica"] as? String) ?? ""
        let peerStats = try must(["stats", "--store", root + "/peer", "--json"])
        peerReplica = ((try JSONSerialization.jsonObject(with: Data(peerStats.stdout.utf8)) as? [String: Any])?["replica"] as? String) ?? ""
        // The bundle comes from a third store: creating a bundle moves the sender's checkpoint,
        // and `peer` must not believe `ws` has its thread before the sync trial.
        _ = try must(["init", root + "/origin", "--role", "workstation"])
        _ = try must(["directory", "import", root + "/directory.xml", "--store", root + "/origin"])
        _ = try must(["compose", "--store", root + "/origin", "--as", "s2", "--to", "u3", "--subject", "From the origin",
                      "--body", "An origin's message.", "--attach", root + "/notes.txt", "--send"])
        _ = try must(["bundle", "create", "--store", root + "/origin", "--for", wsReplica, "--role", "workstation",
                      "-o", root + "/peer.bundle"])
        _ = try must(["backup", "create", "--store", root + "/ws", "-o", root + "/ws.backup"])
        for name in ["portal", "outbox"] {
            _ = try must(["init", root + "/" + name, "--role", "portal"])
            _ = try must(["directory", "import", root + "/directory.xml", "--store", root + "/" + name])
            _ = try must(["config", "portal-url", "https://portal.example.org", "--store", root + "/" + name])
        }
        let registered = try must(["replica", "register", "ws-laptop", "--store", root + "/portal", "--json"])
        guard let token = (try JSONSerialization.jsonObject(with: Data(registered.stdout.utf8)) as? [String: Any])?["token"] as? String else {
            throw SetupError.failed("replica register printed no token")
        }
        _ = fm.createFile(atPath: root + "/ws.token", contents: Data(token.utf8), attributes: [.posixPermissions: 0o600])
        // Notifications queued on `outbox`: the origin's threads and a bulk send reach it.
        _ = try must(["compose", "--store", root + "/origin", "--as", "s1", "--bulk", "active-patients", "--subject", "Flu shots",
                      "--body", "Flu shots are available.", "--send"])
        _ = try must(["sync", root + "/outbox", "--store", root + "/origin"])
        let queued = try must(["outbox", "list", "--store", root + "/outbox", "--json"])
        let entries = ((try JSONSerialization.jsonObject(with: Data(queued.stdout.utf8)) as? [String: Any])?["outbox"] as? [Any]) ?? []
        guard entries.count >= 3 else { throw SetupError.failed("expected queued notifications, found \(entries.count)") }
    }

    func copy(to dir: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in Self.stores { try fm.copyItem(atPath: root + "/" + name, toPath: dir + "/" + name) }
    }
}

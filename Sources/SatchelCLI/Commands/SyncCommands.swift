import ArgumentParser
import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelServer
import SatchelSync

struct BundleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Sync through files: create a bundle for a peer, verify one, apply one.",
        subcommands: [Create.self, Verify.self, Apply.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write what changed since the peer's checkpoint (or everything) to a bundle file.",
            discussion: """
                Staff-only data (drafts, Staff Bcc) is included only for a peer known to be a \
                workstation; a peer of unknown role is treated as a portal.

                Example:
                  satchel bundle create --for r6f0c… -o /media/usb/to-portal.bundle
                """)
        @OptionGroup var global: GlobalOptions
        @Option(name: .customLong("for"), help: "Replica ID of the receiving store.") var target: String
        @Option(name: .shortAndLong, help: "Bundle file to write (must not exist).") var output: String
        @Option(help: "Role of the receiving store if this store has not synced with it yet.") var role: String?
        @Flag(help: "Everything, not only what changed since the peer's checkpoint (for a peer that lacks a prerequisite).")
        var full = false

        struct Result: Encodable { var bundle: String; var threads, objects: Int; var bytes: UInt64; var full: Bool }

        func run() async throws {
            let repository = try StoreContext.open(global)
            let role = try role.map { text in
                guard let role = StoreConfig.Role(rawValue: text) else { throw ValidationError("--role must be workstation or portal") }
                return role
            }
            let progress = TerminalProgress(json: global.json)
            let summary = try SyncEngine(repository).createBundle(for: target, targetRole: role, to: output,
                                                                  full: full, progress: progress.handler)
            progress.done()
            let result = Result(bundle: output, threads: summary.threads, objects: summary.objects, bytes: summary.bytes, full: summary.full)
            if global.json { try Output.json(result) } else {
                Output.line("Wrote \(output): \(result.threads) threads, \(result.objects) objects, \(Output.bytes(result.bytes))\(result.full ? " (full)" : "")")
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a bundle completely without applying it (exit 1 with a report if damaged).",
            discussion: "Example:\n  satchel bundle verify to-portal.bundle")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Bundle file.") var file: String

        struct Result: Encodable { var bundle, source, target: String; var ok: Bool; var problem: String?; var threads, objects: Int }

        func run() async throws {
            let repository = try StoreContext.open(global)
            do {
                let (header, result) = try SyncEngine(repository).verifyBundle(file)
                let out = Result(bundle: file, source: header.source, target: header.target, ok: true, problem: nil,
                                 threads: result.threads, objects: Int(header.objects))
                if global.json { try Output.json(out) } else {
                    Output.line("\(file): OK, from \(header.source) for \(header.target), \(header.objects) objects, \(header.heads.count) heads")
                }
            } catch let error as SyncError where error.code == .badInput || error.code == .missingPrerequisite {
                if global.json {
                    try Output.json(Result(bundle: file, source: "", target: "", ok: false, problem: error.message, threads: 0, objects: 0))
                } else {
                    Output.line("\(file): DAMAGED: \(error.message)")
                }
                throw ExitCode(ExitStatus.damage.rawValue)
            }
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply a bundle all-or-nothing (applying it twice changes nothing).",
            discussion: "Example:\n  satchel bundle apply from-laptop.bundle --json")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Bundle file.") var file: String

        struct Result: Encodable {
            var applied, fastForwarded, merged, unchanged, objects: Int
            var quarantined: [QuarantinedJSON]
        }

        func run() async throws {
            let repository = try StoreContext.open(global)
            let progress = TerminalProgress(json: global.json)
            let r = try SyncEngine(repository).applyBundle(file, progress: progress.handler)
            progress.done()
            CLILog.logger.debug("bundle applied", metadata: ["objects": "\(r.objects)", "merged": "\(r.merged)"])
            let result = Result(applied: r.applied, fastForwarded: r.fastForwarded, merged: r.merged, unchanged: r.unchanged,
                                objects: r.objects, quarantined: r.quarantined.map(QuarantinedJSON.init))
            if global.json { try Output.json(result) } else {
                Output.line("Applied \(file): \(r.applied) new, \(r.fastForwarded) fast-forwarded, \(r.merged) merged, \(r.unchanged) unchanged")
                QuarantinedJSON.report(r.quarantined)
            }
        }
    }
}

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Two-way exchange with another store: a path on this machine, or a portal's satchel serve URL.",
        discussion: """
            Sends what the other store lacks and receives what this one lacks, each side applying \
            all-or-nothing. Drafts and Staff Bcc never go to or come from a portal. Over HTTP the \
            token comes from --token-file, else $SATCHEL_TOKEN; a request with no progress for \
            120 s (or $SATCHEL_HTTP_TIMEOUT seconds) fails with exit 74.

            Examples:
              satchel sync /srv/portal-store --store ./laptop
              satchel sync http://portal.clinic.internal:8080 --token-file ~/.satchel-token --store ./laptop
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Path of the other store, or http://HOST[:PORT] of a portal's satchel serve.") var peer: String
    @Option(name: .customLong("token-file"), help: "File holding this replica's token (HTTP only; else $SATCHEL_TOKEN).") var tokenFile: String?

    struct Side: Encodable { var threads, objects: Int; var bytes: UInt64 }
    struct Result: Encodable { var sent, received: Side; var quarantined: [QuarantinedJSON] }

    func run() async throws {
        let repository = try StoreContext.open(global)
        let sent: TransferSummary, received: TransferSummary
        var quarantined: [Quarantined] = []
        if peer.hasPrefix("http://") || peer.hasPrefix("https://") {
            var client = try HTTPSyncClient(repository: repository, url: peer, token: try token())
            if let timeout = try timeout() { client.timeout = timeout }
            (sent, received, quarantined) = try await client.exchange()
        } else {
            let other: Repository
            do { other = try Repository.open(at: peer) } catch {
                throw CLIError(.missingInput, "no Satchel store at \(peer)")
            }
            let exchange = try SyncEngine(repository).exchange(with: other)
            (sent, received, quarantined) = (exchange.sent, exchange.received, exchange.quarantined)
        }
        CLILog.logger.debug("sync done", metadata: ["sentObjects": "\(sent.objects)", "receivedObjects": "\(received.objects)"])
        let result = Result(sent: Side(threads: sent.threads, objects: sent.objects, bytes: sent.bytes),
                            received: Side(threads: received.threads, objects: received.objects, bytes: received.bytes),
                            quarantined: quarantined.map(QuarantinedJSON.init))
        if global.json { try Output.json(result) } else {
            Output.line("Sent \(sent.threads) threads (\(sent.objects) objects, \(Output.bytes(sent.bytes))); received \(received.threads) threads (\(received.objects) objects, \(Output.bytes(received.bytes)))")
            QuarantinedJSON.report(quarantined)
        }
    }

    /// `$SATCHEL_HTTP_TIMEOUT`: seconds without progress after which an HTTP sync gives up.
    func timeout() throws -> Duration? {
        guard let text = ProcessInfo.processInfo.environment["SATCHEL_HTTP_TIMEOUT"], !text.isEmpty else { return nil }
        guard let seconds = Double(text), seconds > 0, seconds <= 86_400 else {
            throw CLIError(.usage, "SATCHEL_HTTP_TIMEOUT must be a number of seconds between 0 and 86400")
        }
        return .milliseconds(Int64(seconds * 1000))
    }

    /// The bearer token: --token-file, else $SATCHEL_TOKEN.
    func token() throws -> String {
        if let tokenFile {
            guard let data = FileManager.default.contents(atPath: tokenFile) else {
                throw CLIError(.missingInput, "cannot read token file \(tokenFile)")
            }
            guard data.count <= 4096 else { throw CLIError(.badInput, "token file \(tokenFile) is too large to hold a token") }
            return String(decoding: data, as: UTF8.self)
        }
        if let env = ProcessInfo.processInfo.environment["SATCHEL_TOKEN"], !env.isEmpty { return env }
        throw CLIError(.usage, "syncing with \(peer) needs a token: --token-file FILE or $SATCHEL_TOKEN (from satchel replica register on the portal)")
    }
}

/// docs/CLI.md `"quarantined": [{"thread", "message", "reason"}]`.
struct QuarantinedJSON: Encodable {
    var thread, message, reason: String

    init(_ q: Quarantined) {
        thread = q.thread
        message = q.message
        reason = q.reason
    }

    /// One line per quarantined message (human output).
    static func report(_ list: [Quarantined]) {
        for q in list {
            Output.line("Quarantined message \(q.message) in thread \(q.thread): \(q.reason) (kept for staff, not shown to patients)")
        }
    }
}

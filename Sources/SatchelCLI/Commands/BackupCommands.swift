import ArgumentParser
import Foundation
import SatchelBackup
import SatchelStore
import SatchelMessaging

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up a live store to one archive, verify an archive, restore one.",
        discussion: """
            Archives are full or incremental (--incremental-from), optionally encrypted \
            (--passphrase-file: scrypt + AES-256-GCM). A restore rebuilds every object and ref \
            under a NEW replica ID. Format: docs/FORMAT.md, "Backup archives".
            """,
        subcommands: [Create.self, Verify.self, Restore.self])

    static func passphrase(_ path: String?) throws -> Passphrase? {
        try path.map { try Passphrase(file: $0) }
    }

    /// Shows backup progress with the shared terminal progress display.
    static func progressHandler(_ display: TerminalProgress) -> (@Sendable (Backup.Progress) -> Void)? {
        guard let handler = display.handler else { return nil }
        return { progress in
            let phase = switch progress.phase {
            case .snapshot: "snapshot"
            case .objects: "copying objects"
            case .writing: "writing archive"
            case .restoring: "restoring objects"
            case .refs: "restoring refs"
            }
            handler(ProgressEvent(phase: phase, completed: progress.bytes > 0 ? progress.bytes : UInt64(progress.objects),
                                  total: nil, unit: progress.bytes > 0 ? .bytes : .items))
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a consistent snapshot of the (live) store to an archive.",
            discussion: """
                Writers keep working while it runs. With --incremental-from BASE only objects not \
                reachable from BASE's snapshot are stored; restore then needs BASE too (--base). \
                The output file must not exist.

                Examples:
                  satchel backup create -o /backups/mon.satchel-backup --passphrase-file ~/.satchel-pass
                  satchel backup create -o /backups/tue.satchel-backup --incremental-from /backups/mon.satchel-backup --passphrase-file ~/.satchel-pass
                """)
        @OptionGroup var global: GlobalOptions
        @Option(name: .shortAndLong, help: "Archive file to write (must not exist).") var output: String
        @Option(name: .customLong("passphrase-file"), help: "Encrypt with the passphrase in this file.") var passphraseFile: String?
        @Option(name: .customLong("incremental-from"), help: "Base archive: store only what it lacks.") var incrementalFrom: String?

        struct Result: Encodable {
            var backup: String
            var archive: String
            var objects: Int
            var refs: Int
            var bytes: UInt64
            var incremental: Bool
            var base: String?
            var encrypted: Bool
        }

        func run() async throws {
            let repository = try StoreContext.open(global)
            var options = Backup.Options(passphrase: try BackupCommand.passphrase(passphraseFile), incrementalFrom: incrementalFrom)
            let line = TerminalProgress(json: global.json)
            options.progress = BackupCommand.progressHandler(line)
            let summary = try Backup.create(repository, to: output, options: options)
            line.done()
            let result = Result(backup: output, archive: summary.archive, objects: summary.objects, refs: summary.refs,
                                bytes: summary.bytes, incremental: summary.incremental, base: summary.base,
                                encrypted: summary.encrypted)
            if global.json { try Output.json(result) } else {
                Output.line("Wrote \(output) (archive \(summary.archive)): \(summary.objects) objects, \(summary.refs) refs, "
                            + "\(Output.bytes(summary.bytes))" + (summary.base.map { ", incremental on \($0)" } ?? "")
                            + (summary.encrypted ? ", encrypted" : ""))
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read an archive back completely and check every hash and tag (exit 1 with a report on damage).",
            discussion: """
                Checks the trailing checksum, the header (and its MAC), every encrypted chunk, every \
                object's hash, the pack checksum and that every object the ref snapshot reaches is \
                present. For an incremental, pass its bases with --base to check completeness too.

                Example:
                  satchel backup verify /backups/mon.satchel-backup --passphrase-file ~/.satchel-pass
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Archive file.") var file: String
        @Option(name: .customLong("passphrase-file"), help: "Passphrase of an encrypted archive.") var passphraseFile: String?
        @Option(name: .customLong("base"), help: "An archive of the incremental's chain (repeatable, any order).") var bases: [String] = []

        struct Result: Encodable {
            var backup: String
            var archive: String?
            var base: String?
            var ok: Bool
            var encrypted: Bool
            var objects, refs: Int
            var bytes: UInt64
            var problems: [String]
            var note: String?
        }

        func run() async throws {
            let report = try Backup.verify(file, passphrase: try BackupCommand.passphrase(passphraseFile), bases: bases)
            if global.json {
                try Output.json(Result(backup: file, archive: report.archive, base: report.base, ok: report.isClean,
                                       encrypted: report.encrypted, objects: report.objects, refs: report.refs,
                                       bytes: report.bytes, problems: report.problems, note: report.note))
            } else if report.isClean {
                Output.line("\(file): OK, archive \(report.archive ?? "?"), \(report.objects) objects, \(report.refs) refs"
                            + (report.encrypted ? ", encrypted" : "") + (report.base.map { ", incremental on \($0)" } ?? ""))
                if let note = report.note { Output.line("note: \(note)") }
            } else {
                Output.line("\(file): DAMAGED")
                for problem in report.problems { Output.line("  \(problem)") }
            }
            if !report.isClean { throw ExitCode(ExitStatus.damage.rawValue) }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild a store from an archive into an absent or empty directory, under a new replica ID.",
            discussion: """
                Every object and ref comes back exactly; the store gets a new replica ID (the old \
                one is retired), a new change-log epoch, and no sync checkpoints, so the next sync \
                with each peer is a full reconcile that brings back whatever happened after the \
                backup. An incremental archive needs the rest of its chain: pass every earlier \
                archive with --base (any order). On any failure nothing is left at PATH.

                Example:
                  satchel backup restore /backups/tue.satchel-backup ./laptop --base /backups/mon.satchel-backup --passphrase-file ~/.satchel-pass
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Archive file.") var file: String
        @Argument(help: "Directory for the restored store (absent or empty).") var path: String
        @Option(name: .customLong("passphrase-file"), help: "Passphrase of an encrypted archive.") var passphraseFile: String?
        @Option(name: .customLong("base"), help: "An archive of the incremental's chain (repeatable, any order).") var bases: [String] = []

        struct Result: Encodable { var store, replica, retired: String; var objects, refs: Int }

        func run() async throws {
            let line = TerminalProgress(json: global.json)
            let summary = try Backup.restore(file, bases: bases, to: path, passphrase: try BackupCommand.passphrase(passphraseFile),
                                             progress: BackupCommand.progressHandler(line))
            line.done()
            let result = Result(store: summary.store, replica: summary.replica, retired: summary.retired,
                                objects: summary.objects, refs: summary.refs)
            if global.json { try Output.json(result) } else {
                Output.line("Restored \(summary.store): \(summary.objects) objects, \(summary.refs) refs, new replica \(summary.replica) "
                            + "(retired \(summary.retired))")
            }
        }
    }
}

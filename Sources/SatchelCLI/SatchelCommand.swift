import ArgumentParser
import Foundation

/// The `satchel` command: parses, runs, and maps every error to one stderr line and the exit
/// codes of docs/CLI.md.
public struct SatchelCommand: AsyncParsableCommand {
    /// The command's name, help text, version and subcommands.
    public static let configuration = CommandConfiguration(
        commandName: "satchel",
        abstract: "Offline-first storage and sync for patient-portal secure messaging.",
        discussion: """
            Every command takes --store PATH (default $SATCHEL_STORE, else ./satchel-store) and \
            --json, before or after the command name.
            """,
        version: "0.1.0",
        subcommands: [
            InitCommand.self, DirectoryCommand.self, ComposeCommand.self, DraftCommand.self, ReplyCommand.self,
            ThreadCommand.self, AttachmentCommand.self, BodyCommand.self, OutboxCommand.self, BundleCommand.self, SyncCommand.self,
            ConfigCommand.self,
            ServeCommand.self, ReplicaCommand.self,
            BackupCommand.self,
            FsckCommand.self, GCCommand.self, StatsCommand.self, ObjectCommand.self, RefCommand.self,
            DemoCommand.self,
        ]
    )

    /// The command before parsing (ArgumentParser fills it in).
    public init() {}

    /// Entry point used by the `satchel` executable.
    public static func runMain(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Int32 {
        let normalized = GlobalOptions.normalize(arguments)
        CLILog.bootstrap(verbose: normalized.contains("--verbose"))
        let command: any ParsableCommand
        do {
            command = try parseAsRoot(normalized)
        } catch {
            let code = exitCode(for: error).rawValue
            let message = fullMessage(for: error)
            if code == 0 {
                if !message.isEmpty { Output.line(message) }
            } else {
                FileHandle.standardError.write(Data((message + "\n").utf8))
            }
            return code == 0 ? 0 : ExitStatus.usage.rawValue
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
            return 0
        } catch let exit as ExitCode {
            return exit.rawValue
        } catch {
            // `--help` parses into ArgumentParser's help command, whose run throws the help text.
            if exitCode(for: error) == .success {
                Output.line(fullMessage(for: error))
                return 0
            }
            let (status, message) = ErrorReporting.classify(error)
            CLILog.logger.debug("command failed", metadata: ["exit": "\(status.rawValue)", "error": "\(type(of: error))"])
            Output.error(message)
            return status.rawValue
        }
    }
}

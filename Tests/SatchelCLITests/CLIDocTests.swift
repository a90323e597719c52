import ArgumentParser
import Foundation
@testable import SatchelCLI
import SatchelTestSupport
import Testing

/// docs/CLI.md is the complete command reference: every command the parser knows has a section
/// (or a row of the plumbing table), and every flag it accepts is named there. Commands and flags
/// come from the parser, never from a hand list.
@Suite struct CLIDocTests {
    static func reference() throws -> String {
        try String(contentsOfFile: SourceTree.path("docs/CLI.md"), encoding: .utf8)
    }

    /// Every leaf command with its path of names (`draft show`).
    static func leaves(_ command: any ParsableCommand.Type, path: [String] = []) -> [(path: String, type: any ParsableCommand.Type)] {
        let subcommands = command.configuration.subcommands
        if subcommands.isEmpty { return [(path.joined(separator: " "), command)] }
        return subcommands.flatMap { leaves($0, path: path + [$0._commandName]) }
    }

    /// The text documenting `path`: its `##`/`###` section (a heading may name several commands,
    /// "thread close, thread reopen"), or the table row that starts with `` `satchel PATH``.
    static func section(_ path: String, in reference: String) -> String? {
        let lines = reference.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() where line.hasPrefix("## ") || line.hasPrefix("### ") {
            let level = line.prefix { $0 == "#" }.count
            let names = line.dropFirst(level + 1).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard names.contains(path) else { continue }
            let rest = lines[(index + 1)...].prefix { next in
                let nextLevel = next.prefix { $0 == "#" }.count
                return !(nextLevel >= 2 && nextLevel <= level && next.dropFirst(nextLevel).hasPrefix(" "))
            }
            return rest.joined(separator: "\n")
        }
        return lines.first { $0.contains("`satchel \(path) ") || $0.contains("`satchel \(path)`") }.map(String.init)
    }

    @Test func everyCommandAndFlagIsDocumented() throws {
        let reference = try Self.reference()
        let commands = Self.leaves(SatchelCommand.self)
        #expect(commands.count >= 40)
        let global: Set<String> = ["--store", "--json", "--verbose", "--help", "--version"]
        for (path, type) in commands {
            guard let text = Self.section(path, in: reference) else {
                Issue.record("docs/CLI.md has no section for satchel \(path)")
                continue
            }
            // The flags the command accepts: the first `--name` of each option line of its help
            // (not the examples in its discussion).
            let help = SatchelCommand.helpMessage(for: type, columns: 10_000)
            let optionLines = help.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("-") }
            let flags = Set(optionLines.compactMap { $0.firstMatch(of: /--[a-z][a-z-]*/).map { String($0.output) } })
                .subtracting(global)
            for flag in flags.sorted() {
                #expect(text.contains("`\(flag)") || text.contains("|\(flag)") || text.contains(" \(flag) ")
                        || text.contains("[\(flag)"),
                        "docs/CLI.md, satchel \(path): \(flag) is not documented")
            }
        }
    }

    /// Every `SATCHEL_…` environment variable named in a string literal under Sources/ is in the
    /// reference's table.
    @Test func everyEnvironmentVariableIsDocumented() throws {
        let reference = try Self.reference()
        let sources = SourceTree.path("Sources")
        var names: Set<String> = []
        for case let file as String in FileManager.default.enumerator(atPath: sources)! where file.hasSuffix(".swift") {
            let text = try String(contentsOfFile: sources + "/" + file, encoding: .utf8)
            names.formUnion(text.matches(of: /"(SATCHEL_[A-Z_]+)"/).map { String($0.output.1) })
        }
        #expect(names.count >= 4)
        for name in names.sorted() {
            #expect(reference.contains("| `\(name)` |"), "docs/CLI.md does not document \(name)")
        }
    }
}

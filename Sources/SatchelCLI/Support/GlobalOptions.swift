import ArgumentParser
import Foundation

/// Options every command accepts, before or after the command name
/// (`satchel --store S thread list --json`).
public struct GlobalOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: ArgumentHelp("Store directory (default: $SATCHEL_STORE, else ./satchel-store).", valueName: "path"))
    /// `--store PATH`, if given.
    public var store: String?

    @Flag(name: .long, help: "Print a machine-readable JSON result on stdout.")
    /// `--json`: one JSON object on stdout instead of text.
    public var json = false

    @Flag(name: .long, help: "Log progress details to stderr (never message content).")
    /// `--verbose`: progress details on stderr.
    public var verbose = false

    /// The defaults, before parsing.
    public init() {}

    /// The store path in force.
    public var storePath: String {
        if let store { return store }
        if let env = ProcessInfo.processInfo.environment["SATCHEL_STORE"], !env.isEmpty { return env }
        return "./satchel-store"
    }

    static let flagNames: Set<String> = ["--json", "--verbose"]
    static let valueNames: Set<String> = ["--store"]

    /// Moves global options that appear before the subcommand path to the end of the argument
    /// list, where the leaf command (which declares them) parses them.
    public static func normalize(_ arguments: [String]) -> [String] {
        var moved: [String] = []
        var rest: [String] = []
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            if arg == "--" {
                rest.append(contentsOf: arguments[i...])
                break
            }
            if flagNames.contains(arg) {
                moved.append(arg)
            } else if valueNames.contains(arg), i + 1 < arguments.count {
                moved.append(contentsOf: [arg, arguments[i + 1]])
                i += 1
            } else if let eq = arg.firstIndex(of: "="), valueNames.contains(String(arg[..<eq])) {
                moved.append(arg)
            } else {
                rest.append(arg)
            }
            i += 1
        }
        if let dashes = rest.firstIndex(of: "--") {
            rest.insert(contentsOf: moved, at: dashes)
            return rest
        }
        return rest + moved
    }
}

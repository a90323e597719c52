import Foundation
import Logging

/// The CLI's logger: warnings by default, details with `--verbose`, always on stderr. Log lines
/// carry IDs, counts and sizes, never subjects, bodies, names or contact data.
enum CLILog {
    nonisolated(unsafe) private static var bootstrapped = false

    static func bootstrap(verbose: Bool) {
        guard !bootstrapped else { return }
        bootstrapped = true
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbose ? .debug : .warning
            return handler
        }
    }

    static let logger = Logger(label: "satchel")
}

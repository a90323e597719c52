import ArgumentParser
import SatchelStore

/// An error meant for the person at the terminal: one line, and the exit code of
/// docs/CLI.md.
public struct CLIError: Error, CustomStringConvertible, Sendable {
    /// The process exit code (docs/CLI.md, "Exit codes").
    public var exitCode: Int32
    /// The one line printed on stderr.
    public var message: String

    /// An error that exits with `exitCode` after printing `message`.
    public init(_ exitCode: ExitStatus, _ message: String) {
        self.exitCode = exitCode.rawValue
        self.message = message
    }

    public var description: String { message }
}

/// Exit codes (sysexits) of docs/CLI.md, "Exit codes".
public enum ExitStatus: Int32, Sendable {
    case success = 0
    case damage = 1
    case usage = 64
    case badInput = 65
    case missingInput = 66
    case targetExists = 73
    case ioError = 74
    case busy = 75
    case refused = 77
}

/// The one place kinds of failure become exit codes (docs/CLI.md).
enum ErrorReporting {
    /// The exit code and one-line message for any error a command throws.
    static func classify(_ error: any Error) -> (ExitStatus, String) {
        switch error {
        case let error as CLIError:
            return (ExitStatus(rawValue: error.exitCode) ?? .ioError, error.message)
        case let error as ValidationError:
            return (.usage, error.message)
        case let error as any SatchelError:
            return (status(for: error.kind), error.description)
        default:
            return (.ioError, "\(error)")
        }
    }

    static func status(for kind: FailureKind) -> ExitStatus {
        switch kind {
        case .usage: .usage
        case .invalidInput, .damaged: .badInput
        case .notFound: .missingInput
        case .exists: .targetExists
        case .busy, .conflict: .busy
        case .refused: .refused
        default: .ioError
        }
    }
}

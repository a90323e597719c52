import SatchelStore

/// The one error type of the backup layer. Messages name archives, refs, objects and
/// parameters, never message content or the passphrase.
public struct BackupError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong; each code maps to a `FailureKind` (`kind`), which the CLI turns into an exit code (docs/CLI.md).
    public enum Code: String, Sendable {
        /// The archive is damaged, truncated or tampered with, or not an archive.
        case damaged
        /// The archive is encrypted and no passphrase was given, or the passphrase is wrong.
        case passphrase
        /// An archive, base archive, store or passphrase file is missing.
        case notFound
        /// The restore target (or the output file) exists and is not empty.
        case targetExists
        /// Wrong use: a base archive outside the chain, a base of another store.
        case usage
        /// A consistent snapshot could not be taken in time.
        case busy
    }

    /// What went wrong.
    public var code: Code
    /// One line naming the archive, ref, object or parameter concerned.
    public var message: String
    /// The error underneath, if any.
    public var cause: (any Error & Sendable)?

    /// An error with a code, a one-line message and, if any, the error underneath.
    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }

    public static func == (a: BackupError, b: BackupError) -> Bool { a.code == b.code && a.message == b.message }

    static func damaged(_ message: String) -> BackupError { BackupError(.damaged, message) }
}

extension BackupError: SatchelError {
    /// The failure kind of the backup code (damaged archive, wrong passphrase, not found, …).
    public var kind: FailureKind {
        switch code {
        case .damaged: .damaged
        case .passphrase: .refused
        case .notFound: .notFound
        case .targetExists: .exists
        case .usage: .usage
        case .busy: .busy
        }
    }
}

import SatchelStore

/// The one error type of the backup layer. Messages name archives, refs, objects and
/// parameters, never message content or the passphrase.
public typealias BackupError = CodedError<BackupErrorCode>

/// What went wrong in the backup layer; each code maps to a `FailureKind` (``kind``), which the
/// CLI turns into an exit code (docs/CLI.md).
public enum BackupErrorCode: String, SatchelErrorCode {
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

    /// The failure kind of this code (damaged archive, wrong passphrase, not found, …).
    public var kind: FailureKind {
        switch self {
        case .damaged: .damaged
        case .passphrase: .refused
        case .notFound: .notFound
        case .targetExists: .exists
        case .usage: .usage
        case .busy: .busy
        }
    }
}

extension BackupError {
    static func damaged(_ message: String) -> BackupError { BackupError(.damaged, message) }
}

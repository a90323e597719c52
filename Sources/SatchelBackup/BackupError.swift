/// The one error type of the backup layer. Messages name archives, refs, objects and
/// parameters, never message content or the passphrase.
public struct BackupError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong; the CLI maps each code to an exit code (docs/CLI.md).
    public enum Code: String, Sendable {
        /// The archive is damaged, truncated or tampered with, or not an archive (exit 65;
        /// `verify` reports it with exit 1).
        case damaged
        /// The archive is encrypted and no passphrase was given, or the passphrase is wrong
        /// (exit 77: refused, the key is missing).
        case passphrase
        /// An archive, base archive, store or passphrase file is missing (exit 66).
        case notFound
        /// The restore target (or the output file) exists and is not empty (exit 73).
        case targetExists
        /// Wrong use: a base archive outside the chain, a base of another store (exit 64).
        case usage
        /// A consistent snapshot could not be taken in time (exit 75).
        case busy
    }

    /// What went wrong.
    public var code: Code
    /// One line naming the archive, ref, object or parameter concerned.
    public var message: String

    /// An error with a code and a one-line message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func damaged(_ message: String) -> BackupError { BackupError(.damaged, message) }
}

import SatchelStore

/// The one error type of the sync layer. Messages name replicas, refs, objects and positions,
/// never message content.
public struct SyncError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong; each code maps to a `FailureKind` (`kind`), which the CLI turns into an exit code (docs/CLI.md).
    public enum Code: String, Sendable {
        /// Tampered, truncated or malformed bundle; unknown capability or version.
        case badInput
        /// The bundle breaks a messaging rule or a privacy rule.
        case refused
        /// The bundle needs changes or objects this store does not have.
        case missingPrerequisite
        /// A bundle file, peer store or replica token is missing.
        case notFound
        /// A replica token of that name is already registered and active.
        case exists
    }

    /// What went wrong.
    public var code: Code
    /// One line naming the replica, ref, object or position concerned.
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

    public static func == (a: SyncError, b: SyncError) -> Bool { a.code == b.code && a.message == b.message }
}

extension SyncError: SatchelError {
    /// The failure kind of the sync code (bad or incomplete input, refused, busy, …).
    public var kind: FailureKind {
        switch code {
        case .badInput, .missingPrerequisite: .invalidInput
        case .refused: .refused
        case .notFound: .notFound
        case .exists: .exists
        }
    }
}

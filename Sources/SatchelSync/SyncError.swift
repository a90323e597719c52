import SatchelStore

/// The one error type of the sync layer. Messages name replicas, refs, objects and positions,
/// never message content.
public typealias SyncError = CodedError<SyncErrorCode>

/// What went wrong in sync; each code maps to a `FailureKind` (``kind``), which the CLI turns
/// into an exit code (docs/CLI.md).
public enum SyncErrorCode: String, SatchelErrorCode {
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

    /// The failure kind of this code (bad or incomplete input, refused, not found, …).
    public var kind: FailureKind {
        switch self {
        case .badInput, .missingPrerequisite: .invalidInput
        case .refused: .refused
        case .notFound: .notFound
        case .exists: .exists
        }
    }
}

import SatchelStore

/// The one error type of the messaging layer.
///
/// Messages name people and objects by ID (portal user `u1`, patient `p1`, thread `T-…`), never
/// by name, subject or body: error text ends up in logs and terminals, and must carry no PHI.
public typealias MessagingError = CodedError<MessagingErrorCode>

/// What went wrong in the messaging layer; each code maps to a `FailureKind` (``kind``).
public enum MessagingErrorCode: String, SatchelErrorCode {
    /// A messaging rule or permission forbids it.
    case refused
    /// A person, thread, draft, template or file does not exist.
    case notFound
    /// Input is malformed.
    case invalidInput
    /// The request is incomplete or contradictory.
    case usage
    /// Someone else changed the same thread or draft at the same time.
    case conflict

    /// The `FailureKind` of this code, which the command-line tool turns into an exit code.
    public var kind: FailureKind {
        switch self {
        case .refused: .refused
        case .notFound: .notFound
        case .invalidInput: .invalidInput
        case .usage: .usage
        case .conflict: .conflict
        }
    }
}

extension MessagingError {
    static func refused(_ message: String) -> MessagingError { MessagingError(.refused, message) }
    static func notFound(_ message: String) -> MessagingError { MessagingError(.notFound, message) }
    static func usage(_ message: String) -> MessagingError { MessagingError(.usage, message) }
}

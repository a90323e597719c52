import SatchelStore

/// The one error type of the messaging layer.
///
/// Messages name people and objects by ID (portal user `u1`, patient `p1`, thread `T-…`), never
/// by name, subject or body: error text ends up in logs and terminals, and must carry no PHI.
public struct MessagingError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong; each code maps to a `FailureKind` (``kind``).
    public enum Code: String, Sendable {
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
    }

    /// What went wrong.
    public var code: Code
    /// One line naming people and objects by ID; never PHI.
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

    public static func == (a: MessagingError, b: MessagingError) -> Bool { a.code == b.code && a.message == b.message }

    static func refused(_ message: String) -> MessagingError { MessagingError(.refused, message) }
    static func notFound(_ message: String) -> MessagingError { MessagingError(.notFound, message) }
    static func usage(_ message: String) -> MessagingError { MessagingError(.usage, message) }
}

extension MessagingError: SatchelError {
    /// The `FailureKind` of ``code``, which the command-line tool turns into an exit code.
    public var kind: FailureKind {
        switch code {
        case .refused: .refused
        case .notFound: .notFound
        case .invalidInput: .invalidInput
        case .usage: .usage
        case .conflict: .conflict
        }
    }
}

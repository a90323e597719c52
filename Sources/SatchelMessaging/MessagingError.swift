/// The one error type of the messaging layer.
///
/// Messages name people and objects by ID (portal user `u1`, patient `p1`, thread `T-…`), never
/// by name, subject or body: error text ends up in logs and terminals, and must carry no PHI.
public struct MessagingError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable {
        /// A messaging rule or permission forbids it (exit 77).
        case refused
        /// A person, thread, draft, template or file does not exist (exit 66).
        case notFound
        /// Input is malformed (exit 65).
        case invalidInput
        /// The request is incomplete or contradictory (exit 64).
        case usage
        /// Someone else changed the same thread or draft at the same time (exit 75).
        case conflict
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func refused(_ message: String) -> MessagingError { MessagingError(.refused, message) }
    static func notFound(_ message: String) -> MessagingError { MessagingError(.notFound, message) }
    static func usage(_ message: String) -> MessagingError { MessagingError(.usage, message) }
}

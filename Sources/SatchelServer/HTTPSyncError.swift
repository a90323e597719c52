import SatchelStore

/// The one error type of the HTTP sync layer (client and server). Messages name the URL, the
/// endpoint and the HTTP status, never a token or message content.
public struct HTTPSyncError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong; each code maps to a `FailureKind` (`kind`), which the CLI turns into an exit code (docs/CLI.md).
    public enum Code: String, Sendable {
        /// Bad URL, missing or malformed token.
        case usage
        /// The server refused the token: missing, unknown or revoked (401), or bound to another
        /// replica (403).
        case unauthorized
        /// The server refused the bundle by a messaging or privacy rule (422).
        case refused
        /// The peer sent something malformed, tampered, oversized or unexpected.
        case badInput
        /// The connection failed or the server answered with an error of its own.
        case transport
    }

    /// What went wrong.
    public var code: Code
    /// One line naming the URL, endpoint or HTTP status concerned.
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

    public static func == (a: HTTPSyncError, b: HTTPSyncError) -> Bool { a.code == b.code && a.message == b.message }
}

extension HTTPSyncError: SatchelError {
    /// The failure kind of the HTTP transport's code (usage, unreachable peer, refused, …).
    public var kind: FailureKind {
        switch code {
        case .usage: .usage
        case .unauthorized, .refused: .refused
        case .badInput: .invalidInput
        case .transport: .io
        }
    }
}

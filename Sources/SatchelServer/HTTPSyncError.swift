/// The one error type of the HTTP sync layer (client and server). Messages name the URL, the
/// endpoint and the HTTP status, never a token or message content.
public struct HTTPSyncError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong; the CLI maps each code to an exit code (docs/CLI.md).
    public enum Code: String, Sendable {
        /// Bad URL, missing or malformed token (exit 64).
        case usage
        /// The server refused the token: missing, unknown or revoked (401), or bound to another
        /// replica (403) (exit 77).
        case unauthorized
        /// The server refused the bundle by a messaging or privacy rule (422) (exit 77).
        case refused
        /// The peer sent something malformed, tampered, oversized or unexpected (exit 65).
        case badInput
        /// The connection failed or the server answered with an error of its own (exit 74).
        case transport
    }

    /// What went wrong.
    public var code: Code
    /// One line naming the URL, endpoint or HTTP status concerned.
    public var message: String

    /// An error with a code and a one-line message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

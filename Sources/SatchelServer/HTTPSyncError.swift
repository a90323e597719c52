import SatchelStore

/// The one error type of the HTTP sync layer (client and server). Messages name the URL, the
/// endpoint and the HTTP status, never a token or message content.
public typealias HTTPSyncError = CodedError<HTTPSyncErrorCode>

/// What went wrong in HTTP sync; each code maps to a `FailureKind` (``kind``), which the CLI
/// turns into an exit code (docs/CLI.md).
public enum HTTPSyncErrorCode: String, SatchelErrorCode {
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

    /// The failure kind of this code (usage, unreachable peer, refused, …).
    public var kind: FailureKind {
        switch self {
        case .usage: .usage
        case .unauthorized, .refused: .refused
        case .badInput: .invalidInput
        case .transport: .io
        }
    }
}

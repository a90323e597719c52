/// The one error type of the sync layer. Messages name replicas, refs, objects and positions,
/// never message content.
public struct SyncError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong; the CLI maps each code to an exit code (docs/CLI.md).
    public enum Code: String, Sendable {
        /// Tampered, truncated or malformed bundle; unknown capability or version (exit 65).
        case badInput
        /// The bundle breaks a messaging rule or a privacy rule (exit 77).
        case refused
        /// The bundle needs changes or objects this store does not have (exit 65).
        case missingPrerequisite
        /// A bundle file, peer store or replica token is missing (exit 66).
        case notFound
        /// A replica token of that name is already registered and active (exit 73).
        case exists
    }

    /// What went wrong.
    public var code: Code
    /// One line naming the replica, ref, object or position concerned.
    public var message: String

    /// An error with a code and a one-line message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

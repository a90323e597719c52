/// The shape every Satchel error has, whatever module throws it: a ``FailureKind`` a caller can
/// act on, one line of text, where it happened, and the error underneath.
///
/// Each module keeps its own error type with its own detailed code (``StoreError/Code``,
/// `ManifestError.Code`, …) and maps that code to a kind. Only the command-line tool turns kinds
/// into exit codes (docs/CLI.md); the library never mentions them. No error text carries message
/// content, names or other PHI: it names IDs, paths and positions.
public protocol SatchelError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure, shared by every module.
    var kind: FailureKind { get }
    /// One line saying what went wrong, naming IDs, paths or positions.
    var message: String { get }
    /// Where: `path`, `object`, `ref`, `line`, `column`, … (empty when the message says it all).
    var context: [String: String] { get }
    /// The error underneath, if any; it may itself be a ``SatchelError`` (a chain).
    var cause: (any Error & Sendable)? { get }
}

extension SatchelError {
    /// No context by default.
    public var context: [String: String] { [:] }

    /// This error and the errors under it, outermost first.
    public var chain: [any Error] {
        var result: [any Error] = [self]
        var next = cause
        while let error = next, result.count < 16 {
            result.append(error)
            next = (error as? any SatchelError)?.cause
        }
        return result
    }
}

/// What kind of failure an error is: extensible (a module may add kinds), compared by name.
public struct FailureKind: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
    /// The kind's stable name (used in logs and JSON).
    public var rawValue: String
    /// The kind named `rawValue`.
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// The request is incomplete or contradictory (wrong arguments).
    public static let usage = FailureKind(rawValue: "usage")
    /// Input from outside is malformed, breaks the format, or is over a limit.
    public static let invalidInput = FailureKind(rawValue: "invalid-input")
    /// Stored or transported bytes are damaged (checksum, truncation, impossible values).
    public static let damaged = FailureKind(rawValue: "damaged")
    /// A person, thread, object, file or peer does not exist.
    public static let notFound = FailureKind(rawValue: "not-found")
    /// The target already exists and is never overwritten.
    public static let exists = FailureKind(rawValue: "exists")
    /// The operating system refused an I/O operation, or a peer could not be reached.
    public static let io = FailureKind(rawValue: "io")
    /// Someone else holds the store (a lock) beyond the wait time: try again later.
    public static let busy = FailureKind(rawValue: "busy")
    /// Someone else changed the same thing at the same time: try again.
    public static let conflict = FailureKind(rawValue: "conflict")
    /// A messaging, privacy or access rule forbids it, or credentials are wrong.
    public static let refused = FailureKind(rawValue: "refused")
    /// A fault inside Satchel or its libraries (out of memory, an invariant broken).
    public static let `internal` = FailureKind(rawValue: "internal")
}

extension StoreError: SatchelError {
    /// The failure kind of the store's code (damage, not found, busy, …; I/O otherwise).
    public var kind: FailureKind {
        switch code {
        case .notFound: .notFound
        case .corrupt, .truncated: .damaged
        case .tooLarge: .invalidInput
        case .busy: .busy
        case .exists: .exists
        case .invalidArgument: .usage
        case .conflict: .conflict
        default: .io
        }
    }

    /// The path and object the error concerns, when known.
    public var context: [String: String] {
        var result: [String: String] = [:]
        if let path { result["path"] = path }
        if let object { result["object"] = object.description }
        return result
    }
}

/// A module's detailed error code: a stable name, and the ``FailureKind`` it is.
public protocol SatchelErrorCode: RawRepresentable<String>, Hashable, Sendable {
    /// The kind of failure this code is (what the command-line tool turns into an exit code).
    var kind: FailureKind { get }
}

/// The one error type of the layers above the store and the manifests (messaging, sync, HTTP
/// sync, backup), each with its own ``SatchelErrorCode``: `MessagingError` is
/// `CodedError<MessagingErrorCode>`, and so on. One line of text naming IDs, paths or positions
/// (never message content, names or secrets), where it happened, and the error underneath.
public struct CodedError<ModuleCode: SatchelErrorCode>: SatchelError, Equatable {
    /// The module's code type (`MessagingError.Code` is `MessagingErrorCode`).
    public typealias Code = ModuleCode

    /// What went wrong, in the module's own terms.
    public var code: Code
    /// One line naming the objects, people (by ID), files or positions concerned; never PHI.
    public var message: String
    /// Where: `path`, `thread`, `object`, … (empty when the message says it all).
    public var context: [String: String]
    /// The error underneath, if any.
    public var cause: (any Error & Sendable)?

    /// An error with a code, a one-line message and, if any, its context and the error underneath.
    public init(_ code: Code, _ message: String, context: [String: String] = [:], cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.context = context
        self.cause = cause
    }

    /// The kind of ``code``.
    public var kind: FailureKind { code.kind }
    /// The message.
    public var description: String { message }

    /// Same code and message (the cause is not compared).
    public static func == (a: Self, b: Self) -> Bool { a.code == b.code && a.message == b.message }
}

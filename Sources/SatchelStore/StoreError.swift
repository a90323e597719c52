/// The one error type of the object store layer.
///
/// A `StoreError` names what went wrong (``Code``), where (a path relative to the store, an
/// object ID or a ref name) and, when there is one, the underlying cause. Its description never
/// contains object content: payloads may hold patient data.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; callers map it to exit codes.
    public struct Code: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
        /// The code's name (`not-found`, `corrupt`, …).
        public var rawValue: String
        /// A code by name.
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The object, ref, pack or store does not exist.
        public static let notFound = Code(rawValue: "not-found")
        /// Stored bytes do not match their address, are truncated or malformed.
        public static let corrupt = Code(rawValue: "corrupt")
        /// Stored bytes end early (a torn or cut-off file). A kind of corruption.
        public static let truncated = Code(rawValue: "truncated")
        /// The operating system refused an I/O operation.
        public static let io = Code(rawValue: "io")
        /// A lock is held by someone else beyond the wait time.
        public static let busy = Code(rawValue: "busy")
        /// The target already exists (init into a non-empty directory).
        public static let exists = Code(rawValue: "exists")
        /// The caller passed something invalid (bad ref name, bad object ID text).
        public static let invalidArgument = Code(rawValue: "invalid-argument")
        /// A compare-and-swap found a different value than expected.
        public static let conflict = Code(rawValue: "conflict")
        /// Input is larger than the limit the caller set.
        public static let tooLarge = Code(rawValue: "too-large")
    }

    /// What kind of failure.
    public var code: Code
    /// One line naming what was wrong and where (path, object, ref); never payload content.
    public var message: String
    /// Path of the file involved, if any.
    public var path: String?
    /// Object involved, if any.
    public var object: ObjectID?
    /// The underlying error (an `Errno`, a zlib status), if any.
    public var cause: (any Error & Sendable)?

    /// An error with its code, message and whatever of path, object and cause is known.
    public init(_ code: Code, _ message: String, path: String? = nil, object: ObjectID? = nil,
                cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.object = object
        self.cause = cause
    }

    /// True for `.corrupt` and `.truncated`: the stored bytes are damaged.
    public var isDamage: Bool { code == .corrupt || code == .truncated }

    public var description: String {
        var text = message
        if let path { text += " (\(path))" }
        if let cause { text += ": \(cause)" }
        return text
    }
}

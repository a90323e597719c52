import SatchelStore
/// The one error type of the manifest layer.
///
/// A `ManifestError` says which rule was broken (``code`` and ``message``) and where (``line`` and
/// ``column`` in the input, 1-based, when known). Its description never contains element text or
/// attribute values from the input: manifests hold patient data. Names of elements and attributes,
/// identifiers of vocabularies and the limits that were exceeded are fine to show.
public struct ManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Which rule was broken; callers map it to exit codes (all of them are "bad input" (65) except
    /// ``io`` and ``internal``).
    public struct Code: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
        /// The code's name (`malformed`, `too-deep`, …).
        public var rawValue: String
        /// A code by name.
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The input is not well-formed XML.
        public static let malformed = Code(rawValue: "malformed")
        /// The input is not UTF-8 (invalid bytes, a BOM for another encoding, or a declared
        /// encoding other than UTF-8).
        public static let encoding = Code(rawValue: "encoding")
        /// The document has a DOCTYPE (DTDs, and so entities, are never allowed).
        public static let doctype = Code(rawValue: "doctype")
        /// The document contains an entity reference other than the five predefined ones.
        public static let entity = Code(rawValue: "entity")
        /// The document contains a node kind manifests never use (a processing instruction).
        public static let forbiddenNode = Code(rawValue: "forbidden-node")
        /// The input is larger than ``ParseLimits/maxInputBytes``.
        public static let tooLarge = Code(rawValue: "too-large")
        /// Elements nest deeper than ``ParseLimits/maxDepth``.
        public static let tooDeep = Code(rawValue: "too-deep")
        /// More elements than ``ParseLimits/maxElements``.
        public static let tooManyElements = Code(rawValue: "too-many-elements")
        /// An element has more attributes than ``ParseLimits/maxAttributes``.
        public static let tooManyAttributes = Code(rawValue: "too-many-attributes")
        /// An attribute value is longer than ``ParseLimits/maxAttributeLength``.
        public static let attributeTooLong = Code(rawValue: "attribute-too-long")
        /// A run of text is longer than ``ParseLimits/maxTextLength``.
        public static let textTooLong = Code(rawValue: "text-too-long")
        /// The root element is not in a Satchel namespace, or in the namespace of another vocabulary.
        public static let wrongNamespace = Code(rawValue: "wrong-namespace")
        /// The root element is in a Satchel vocabulary namespace with a version this build can't read.
        public static let unknownVersion = Code(rawValue: "unknown-version")
        /// The document does not conform to its vocabulary's XSD schema.
        public static let schema = Code(rawValue: "schema")
        /// A required attribute or element is missing.
        public static let missing = Code(rawValue: "missing")
        /// An element or attribute that the vocabulary does not define.
        public static let unexpected = Code(rawValue: "unexpected")
        /// An attribute or text value is not valid for its type (a bad boolean, ID, timestamp...).
        public static let invalidValue = Code(rawValue: "invalid-value")
        /// Two entries share an identifier that must be unique.
        public static let duplicate = Code(rawValue: "duplicate")
        /// A reference names something that is not there (a portal user of an unknown patient).
        public static let danglingReference = Code(rawValue: "dangling-reference")
        /// Reading the input stream or writing the output sink failed.
        public static let io = Code(rawValue: "io")
        /// libxml2 or a bundled schema failed in a way input cannot cause (out of memory, missing
        /// resource).
        public static let `internal` = Code(rawValue: "internal")
    }

    /// Which rule was broken.
    public var code: Code
    /// One line naming the broken rule and the element/attribute involved; never input content.
    public var message: String
    /// 1-based line in the input, when known.
    public var line: Int?
    /// 1-based column in the input, when known. For problems found after parsing (schema, typed
    /// decoding, references) this is the column just after the element's start tag.
    public var column: Int?
    /// The underlying error (a stream's read error), if any.
    public var cause: (any Error & Sendable)?

    /// An error at an optional position, with an optional cause.
    public init(_ code: Code, _ message: String, line: Int? = nil, column: Int? = nil,
                cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.line = line
        self.column = column
        self.cause = cause
    }

    /// `line L, column C: message [code]`.
    public var description: String {
        var text = ""
        if let line {
            text += "line \(line)"
            if let column { text += ", column \(column)" }
            text += ": "
        }
        text += message + " [\(code)]"
        if let cause { text += ": \(cause)" }
        return text
    }

    public static func == (a: ManifestError, b: ManifestError) -> Bool {
        a.code == b.code && a.message == b.message && a.line == b.line && a.column == b.column
    }
}

extension ManifestError: SatchelError {
    /// Invalid input, except I/O failures and internal faults.
    public var kind: FailureKind {
        switch code {
        case .io: .io
        case .internal: .internal
        default: .invalidInput
        }
    }

    /// The line and column in the input where the problem is, when known.
    public var context: [String: String] {
        var result: [String: String] = [:]
        if let line { result["line"] = String(line) }
        if let column { result["column"] = String(column) }
        return result
    }
}

/// One element of a parsed manifest: the small Swift tree that decoding works on, so nothing above
/// the parser sees libxml2.
///
/// Comments are dropped; text and CDATA children are joined into ``text``. Processing instructions,
/// entity references and DOCTYPEs never get this far (the parser refuses them).
public struct ManifestElement: Sendable, Equatable {
    /// One attribute. Namespaced attributes keep their namespace URI so decoders can refuse them.
    public struct Attribute: Sendable, Equatable {
        /// Local name.
        public var name: String
        /// Namespace URI, or nil.
        public var namespace: String?
        /// The value, entities and character references resolved.
        public var value: String

        /// An attribute.
        public init(name: String, namespace: String? = nil, value: String) {
            self.name = name
            self.namespace = namespace
            self.value = value
        }
    }

    /// Local name.
    public var name: String
    /// Namespace URI, or nil for an element in no namespace.
    public var namespace: String?
    /// Attributes in document order.
    public var attributes: [Attribute]
    /// Child elements in document order.
    public var children: [ManifestElement]
    /// All character data directly inside this element, concatenated.
    public var text: String
    /// 1-based line of the start tag (0 when unknown).
    public var line: Int
    /// 1-based column just after the start tag (0 when unknown).
    public var column: Int

    /// An element (tests and tools build trees by hand; decoders get them from ``ManifestReader``).
    public init(name: String, namespace: String? = nil, attributes: [Attribute] = [],
                children: [ManifestElement] = [], text: String = "", line: Int = 0, column: Int = 0) {
        self.name = name
        self.namespace = namespace
        self.attributes = attributes
        self.children = children
        self.text = text
        self.line = line
        self.column = column
    }

    /// The value of the no-namespace attribute `name`, if present.
    public subscript(attribute name: String) -> String? {
        attributes.first { $0.name == name && $0.namespace == nil }?.value
    }

    /// An error located at this element.
    func error(_ code: ManifestError.Code, _ message: String) -> ManifestError {
        ManifestError(code, message, line: line > 0 ? line : nil, column: column > 0 ? column : nil)
    }
}

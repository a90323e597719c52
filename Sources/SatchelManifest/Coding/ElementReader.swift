import SatchelStore

/// Strict, position-aware reading of one ``ManifestElement`` for typed decoders: every attribute
/// must be read (or it is refused as unexpected by ``finish()``), values are parsed with errors that
/// name the element, the attribute and the line, but never the value.
struct ElementReader {
    let element: ManifestElement
    private var used: [Bool]

    /// Checks that `element` is `<name>` in `namespace`.
    init(_ element: ManifestElement, name: String, namespace: String) throws(ManifestError) {
        guard element.name == name, element.namespace == namespace else {
            throw element.error(.unexpected, "expected <\(name)> in \(namespace), found <\(element.name)>")
        }
        self.element = element
        used = Array(repeating: false, count: element.attributes.count)
    }

    private mutating func take(_ name: String) -> String? {
        for (i, a) in element.attributes.enumerated() where a.name == name && a.namespace == nil {
            used[i] = true
            return a.value
        }
        return nil
    }

    func error(_ code: ManifestError.Code, _ message: String) -> ManifestError {
        element.error(code, message)
    }

    mutating func optionalString(_ name: String) -> String? { take(name) }

    /// Whether the element carries attribute `name` (without consuming it).
    func has(_ name: String) -> Bool { element.attributes.contains { $0.name == name && $0.namespace == nil } }

    mutating func string(_ name: String) throws(ManifestError) -> String {
        guard let value = take(name) else {
            throw error(.missing, "<\(element.name)> is missing required attribute \(name)")
        }
        return value
    }

    mutating func optionalBool(_ name: String) throws(ManifestError) -> Bool? {
        guard let value = take(name) else { return nil }
        switch value {
        case "true", "1": return true
        case "false", "0": return false
        default: throw error(.invalidValue, "attribute \(name) of <\(element.name)> is not a boolean")
        }
    }

    mutating func bool(_ name: String) throws(ManifestError) -> Bool {
        guard let value = try optionalBool(name) else {
            throw error(.missing, "<\(element.name)> is missing required attribute \(name)")
        }
        return value
    }

    mutating func uint64(_ name: String, minimum: UInt64 = 0) throws(ManifestError) -> UInt64 {
        let text = try string(name)
        guard let value = UInt64(text), value >= minimum, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw error(.invalidValue, "attribute \(name) of <\(element.name)> is not an integer ≥ \(minimum)")
        }
        return value
    }

    mutating func objectID(_ name: String) throws(ManifestError) -> ObjectID {
        guard let value = ObjectID(try string(name)) else {
            throw error(.invalidValue, "attribute \(name) of <\(element.name)> is not an object ID (sha256:<64 hex>)")
        }
        return value
    }

    mutating func timestamp(_ name: String) throws(ManifestError) -> Timestamp {
        guard let value = Timestamp(try string(name)) else {
            throw error(.invalidValue, "attribute \(name) of <\(element.name)> is not an ISO 8601 UTC timestamp")
        }
        return value
    }

    mutating func optionalValue<T: RawRepresentable>(_ name: String, _: T.Type = T.self) throws(ManifestError) -> T?
    where T.RawValue == String {
        guard let text = take(name) else { return nil }
        guard let value = T(rawValue: text) else {
            throw error(.invalidValue, "attribute \(name) of <\(element.name)> has a value outside its set")
        }
        return value
    }

    mutating func value<T: RawRepresentable>(_ name: String, _: T.Type = T.self) throws(ManifestError) -> T
    where T.RawValue == String {
        guard let value: T = try optionalValue(name) else {
            throw error(.missing, "<\(element.name)> is missing required attribute \(name)")
        }
        return value
    }

    /// Refuses attributes nobody read and, for element-only content, non-blank text.
    func finish(textAllowed: Bool = false) throws(ManifestError) {
        for (i, a) in element.attributes.enumerated() where !used[i] {
            throw error(.unexpected, "<\(element.name)> has unexpected attribute \(a.name)")
        }
        if !textAllowed, element.text.utf8.contains(where: { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }) {
            throw error(.unexpected, "<\(element.name)> contains character data where only elements belong")
        }
    }

    /// Child elements, each checked to be in `namespace`.
    func children(namespace: String) throws(ManifestError) -> [ManifestElement] {
        for child in element.children where child.namespace != namespace {
            throw child.error(.unexpected, "<\(child.name)> is not in \(namespace)")
        }
        return element.children
    }

    /// The text of a text-only element (no child elements allowed).
    func textOnly() throws(ManifestError) -> String {
        if let child = element.children.first {
            throw child.error(.unexpected, "<\(element.name)> holds text only, found <\(child.name)>")
        }
        return element.text
    }
}

extension ManifestElement {
    func unexpectedChild() -> ManifestError {
        error(.unexpected, "unexpected element <\(name)>")
    }

    func duplicateChild() -> ManifestError {
        error(.unexpected, "<\(name)> may appear only once here")
    }
}

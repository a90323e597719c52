import CLibXML2

/// Turns libxml2's `xmlError` into ``ManifestError`` without carrying input content along.
enum LibXMLErrors {
    /// A parser (well-formedness) error, located at the error's line and column.
    static func parserError(_ error: xmlError, _ ctxt: xmlParserCtxtPtr) -> ManifestError {
        let text = firstLine(error.message)
        let code: ManifestError.Code
        switch Int(error.code) {
        case Int(XML_ERR_INVALID_CHAR.rawValue) where text.contains("UTF-8"),
             Int(XML_ERR_INVALID_ENCODING.rawValue), Int(XML_ERR_UNKNOWN_ENCODING.rawValue),
             Int(XML_ERR_UNSUPPORTED_ENCODING.rawValue):
            code = .encoding
        case Int(XML_ERR_UNDECLARED_ENTITY.rawValue), Int(XML_WAR_UNDECLARED_ENTITY.rawValue),
             Int(XML_ERR_ENTITY_LOOP.rawValue), Int(XML_ERR_ENTITY_BOUNDARY.rawValue):
            code = .entity
        default:
            if text.contains("Huge input lookup") {
                return ManifestError(.tooLarge,
                    "a single tag is longer than libxml2's lookup limit (10,000,000 bytes) (libxml2 error \(error.code))",
                    line: error.line > 0 ? Int(error.line) : nil, column: error.int2 > 0 ? Int(error.int2) : nil)
            }
            if text.contains("depth") { code = .tooDeep }
            else if text.contains("AttValue length too long") { code = .attributeTooLong }
            else if text.contains("too long") || text.contains("huge") { code = .textTooLong }
            else { code = .malformed }
        }
        let line = error.line > 0 ? Int(error.line) : ctxt.pointee.input.map { Int($0.pointee.line) }
        let column = error.int2 > 0 ? Int(error.int2) : nil
        return ManifestError(code, "\(text) (libxml2 error \(error.code))", line: line, column: column)
    }

    /// A schema validation error, located at the offending element.
    static func schemaError(_ error: xmlError, vocabulary: String) -> ManifestError {
        var line = error.line > 0 ? Int(error.line) : nil
        var column: Int?
        if let raw = error.node {
            let node = raw.assumingMemoryBound(to: xmlNode.self)
            if node.pointee.type == XML_ELEMENT_NODE {
                let number = xmlGetLineNo(node)
                if number > 0 { line = Int(number) }
                if let col = node.pointee._private { column = Int(bitPattern: col) }
            }
        }
        let text = redactValues(firstLine(error.message))
        return ManifestError(.schema, "not a valid \(vocabulary) manifest: \(text)", line: line, column: column)
    }

    static func firstLine(_ message: UnsafeMutablePointer<CChar>?) -> String {
        guard let message else { return "unknown libxml2 error" }
        let text = String(cString: message)
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: true).first ?? ""
        return String(line).trimming(" .")
    }

    /// Schema messages quote offending values ("The value 'rosa@example.org' is not accepted by the
    /// pattern ..."); values may be patient data, so every quoted value is replaced by `'…'`.
    /// Element, attribute, type and facet names are kept.
    static func redactValues(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        // Quoted spans that follow these words are names, not values.
        let nameMarkers = ["Element ", "attribute ", "facet ", "type ", "pattern ", "element ",
                           "Attribute ", "set {", ", ", "{"]
        while let open = rest.firstIndex(of: "'") {
            out += rest[..<open]
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: "'") else {
                rest = rest[open...]
                break
            }
            let quoted = rest[afterOpen..<close]
            let isName = nameMarkers.contains { out.hasSuffix($0) }
            out += isName ? "'\(quoted)'" : "'…'"
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        return out
    }
}

extension String {
    func trimming(_ set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let c = s.first, chars.contains(c) { s = s.dropFirst() }
        while let c = s.last, chars.contains(c) { s = s.dropLast() }
        return String(s)
    }
}

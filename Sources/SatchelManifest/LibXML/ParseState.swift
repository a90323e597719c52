import CLibXML2

/// Per-parse state, reached from libxml2's SAX callbacks through the parser context's `_private`.
/// Holds the limits, the running counts and the first refusal.
final class ParseState {
    let limits: ParseLimits
    /// False for a scan: limits and well-formedness only, no document tree (flat memory).
    let buildTree: Bool
    var depth = 0
    var elements = 0
    var textRun = 0
    /// The first error (ours or libxml2's); later ones are consequences and are dropped.
    var failure: ManifestError?

    init(limits: ParseLimits, buildTree: Bool = true) {
        self.limits = limits
        self.buildTree = buildTree
    }

    /// An error at the parser's current input position.
    func positioned(_ code: ManifestError.Code, _ message: String,
                    _ ctxt: xmlParserCtxtPtr) -> ManifestError {
        var line: Int?, column: Int?
        if let input = ctxt.pointee.input {
            line = Int(input.pointee.line)
            column = Int(input.pointee.col)
        }
        return ManifestError(code, message, line: line, column: column)
    }

    /// Records a refusal and stops the parser (`xmlStopParser`): no further SAX events.
    func refuse(_ code: ManifestError.Code, _ message: String, _ ctxt: xmlParserCtxtPtr) {
        if failure == nil { failure = positioned(code, message, ctxt) }
        xmlStopParser(ctxt)
    }

    static func from(_ ctx: UnsafeMutableRawPointer?) -> (ParseState, xmlParserCtxtPtr)? {
        guard let ctx else { return nil }
        let ctxt = ctx.assumingMemoryBound(to: xmlParserCtxt.self)
        guard let raw = ctxt.pointee._private else { return nil }
        return (Unmanaged<ParseState>.fromOpaque(raw).takeUnretainedValue(), ctxt)
    }

    /// Replaces the SAX2 handlers that need a guard. The user data of every callback is the parser
    /// context (push parser created with `user_data == NULL`).
    static func install(into sax: inout xmlSAXHandler) {
        sax.internalSubset = { ctx, _, _, _ in
            guard let (state, ctxt) = ParseState.from(ctx) else { return }
            state.refuse(.doctype, "DOCTYPE is not allowed in a manifest (no DTDs, no entities)", ctxt)
        }
        sax.externalSubset = { _, _, _, _ in }
        sax.resolveEntity = { _, _, _ in nil }
        sax.getEntity = { _, _ in nil }
        sax.getParameterEntity = { _, _ in nil }
        sax.reference = { ctx, _ in
            guard let (state, ctxt) = ParseState.from(ctx) else { return }
            state.refuse(.entity, "entity references are not allowed in a manifest", ctxt)
        }
        sax.processingInstruction = { ctx, _, _ in
            guard let (state, ctxt) = ParseState.from(ctx) else { return }
            state.refuse(.forbiddenNode, "processing instructions are not allowed in a manifest", ctxt)
        }
        sax.comment = nil
        sax.startElementNs = { ctx, localname, prefix, uri, nbNs, namespaces, nbAttributes, nbDefaulted, attributes in
            guard let (state, ctxt) = ParseState.from(ctx) else { return }
            let limits = state.limits
            state.depth += 1
            state.elements += 1
            state.textRun = 0
            if state.depth > limits.maxDepth {
                return state.refuse(.tooDeep, "elements nest deeper than the limit of \(limits.maxDepth)", ctxt)
            }
            if state.elements > limits.maxElements {
                return state.refuse(.tooManyElements, "more elements than the limit of \(limits.maxElements)", ctxt)
            }
            let name = LibXML.string(localname) ?? "?"
            if Int(nbAttributes) > limits.maxAttributes {
                return state.refuse(.tooManyAttributes,
                    "<\(name)> has \(nbAttributes) attributes; the limit is \(limits.maxAttributes)", ctxt)
            }
            if let attributes {
                // Five pointers per attribute: localname, prefix, URI, value start, value end.
                for i in 0..<Int(nbAttributes) {
                    guard let start = attributes[i * 5 + 3], let end = attributes[i * 5 + 4] else { continue }
                    if end - start > limits.maxAttributeLength {
                        let attr = LibXML.string(attributes[i * 5]) ?? "?"
                        return state.refuse(.attributeTooLong,
                            "attribute \(attr) of <\(name)> is longer than the limit of \(limits.maxAttributeLength) bytes", ctxt)
                    }
                }
            }
            guard state.buildTree else { return }
            xmlSAX2StartElementNs(ctx, localname, prefix, uri, nbNs, namespaces, nbAttributes, nbDefaulted, attributes)
            // Remember the column just after the start tag (libxml2 nodes keep only the line).
            if let node = ctxt.pointee.node, let input = ctxt.pointee.input {
                node.pointee._private = UnsafeMutableRawPointer(bitPattern: Int(input.pointee.col))
            }
        }
        sax.endElementNs = { ctx, localname, prefix, uri in
            guard let (state, _) = ParseState.from(ctx) else { return }
            state.depth -= 1
            state.textRun = 0
            guard state.buildTree else { return }
            xmlSAX2EndElementNs(ctx, localname, prefix, uri)
        }
        let characters: charactersSAXFunc = { ctx, ch, len in
            guard let (state, ctxt) = ParseState.from(ctx) else { return }
            state.textRun += Int(len)
            if state.textRun > state.limits.maxTextLength {
                return state.refuse(.textTooLong,
                    "text is longer than the limit of \(state.limits.maxTextLength) bytes", ctxt)
            }
            guard state.buildTree else { return }
            xmlSAX2Characters(ctx, ch, len)
        }
        sax.characters = characters
        sax.ignorableWhitespace = characters
        sax.cdataBlock = characters
        sax.serror = { userData, error in
            guard let (state, ctxt) = ParseState.from(userData), let error,
                  error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue, state.failure == nil else { return }
            state.failure = LibXMLErrors.parserError(error.pointee, ctxt)
        }
    }
}

import CLibXML2
import Foundation

/// libxml2's push parser behind the guards Satchel needs. This folder is the only place in the
/// module that touches libxml2.
///
/// Options: `XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_BIG_LINES`: never `NOENT`, `HUGE`,
/// `DTDLOAD` or `DTDATTR`. On top of libxml2's own protections, SAX callbacks (each forwarding to
/// libxml2's SAX2 tree builder) refuse a DOCTYPE as soon as it starts, refuse entity references and
/// processing instructions, drop comments, and enforce ``ParseLimits`` while the input streams in,
/// stopping the parser at the first refusal. Errors are collected per parser context through the
/// context's structured error callback (`sax->serror`), never libxml2's global handler.
final class LibXMLPushParser {
    private let ctxt: xmlParserCtxtPtr
    private let state: ParseState
    private var fed = 0
    private var finished = false

    /// `xmlCreatePushParserCtxt` + `xmlCtxtUseOptions`. `buildTree: false` makes a scanner:
    /// every guard and limit, well-formedness, no document (see ``scan()``).
    init(limits: ParseLimits, buildTree: Bool = true) throws(ManifestError) {
        LibXML.initialize()
        var sax = xmlSAXHandler()
        xmlSAXVersion(&sax, 2)
        ParseState.install(into: &sax)
        guard let ctxt = xmlCreatePushParserCtxt(&sax, nil, nil, 0, nil) else {
            throw ManifestError(.internal, "libxml2 could not create a parser context")
        }
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOCDATA.rawValue
                            | XML_PARSE_BIG_LINES.rawValue)
        xmlCtxtUseOptions(ctxt, options)
        self.ctxt = ctxt
        self.state = ParseState(limits: limits, buildTree: buildTree)
        ctxt.pointee._private = Unmanaged.passUnretained(state).toOpaque()
    }

    deinit {
        if let doc = ctxt.pointee.myDoc {
            ctxt.pointee.myDoc = nil
            xmlFreeDoc(doc)
        }
        ctxt.pointee._private = nil
        xmlFreeParserCtxt(ctxt)
    }

    /// Feeds the next piece of input (`xmlParseChunk`), in slices small enough that a limit is
    /// noticed early. Throws the first refusal.
    func feed(_ bytes: UnsafeRawBufferPointer) throws(ManifestError) {
        if fed == 0, let first = bytes.first {
            // UTF-16/32 (with or without BOM) starts with 0x00, 0xFE or 0xFF, or has a NUL second byte.
            if first == 0x00 || first == 0xFE || first == 0xFF || (bytes.count > 1 && bytes[1] == 0) {
                throw ManifestError(.encoding, "input is not UTF-8 (UTF-16 or UTF-32 byte order)",
                                    line: 1, column: 1)
            }
        }
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, 64 << 10)
            fed += n
            if fed > state.limits.maxInputBytes {
                throw state.positioned(.tooLarge,
                    "input exceeds the limit of \(state.limits.maxInputBytes) bytes", ctxt)
            }
            let base = bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self)
            xmlParseChunk(ctxt, base, Int32(n), 0)
            try check()
            offset += n
        }
    }

    /// Feeds bytes from any contiguous storage.
    func feed(_ bytes: some ContiguousBytes) throws(ManifestError) {
        do {
            try bytes.withUnsafeBytes { try feed($0) }
        } catch let error as ManifestError {
            throw error
        } catch {
            throw ManifestError(.internal, "unexpected error while feeding the parser", cause: error)
        }
    }

    /// Ends the input (`xmlParseChunk(terminate: 1)`) and hands over the document.
    func finish() throws(ManifestError) -> LibXMLDocument {
        precondition(!finished, "finish() called twice")
        finished = true
        xmlParseChunk(ctxt, nil, 0, 1)
        try check()
        guard ctxt.pointee.wellFormed != 0, let doc = ctxt.pointee.myDoc else {
            throw ManifestError(.malformed, fed == 0 ? "input is empty" : "document is not well-formed")
        }
        ctxt.pointee.myDoc = nil
        let document = LibXMLDocument(taking: doc)
        try document.checkProlog()
        return document
    }

    /// Ends the input of a scanner (`buildTree: false`): throws the first refusal, else returns.
    func scan() throws(ManifestError) {
        precondition(!finished, "scan() called twice")
        finished = true
        xmlParseChunk(ctxt, nil, 0, 1)
        try check()
        guard ctxt.pointee.wellFormed != 0 else {
            throw ManifestError(.malformed, fed == 0 ? "input is empty" : "document is not well-formed")
        }
    }

    private func check() throws(ManifestError) {
        if let failure = state.failure { throw failure }
        if ctxt.pointee.wellFormed == 0 {
            throw ManifestError(.malformed, "document is not well-formed")
        }
    }
}

enum LibXML {
    private static let initialized: Bool = {
        xmlInitParser()
        return true
    }()

    /// `xmlInitParser`, once per process.
    static func initialize() { _ = initialized }

    /// A C string owned by libxml2 as a Swift string (nil for NULL).
    static func string(_ p: UnsafePointer<xmlChar>?) -> String? {
        guard let p else { return nil }
        return String(cString: p)
    }
}

import CLibXML2
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One attribute of an HTML start tag, as libxml2's HTML parser reports it: the name lowercased,
/// the value with character references decoded (`nil` for a bare attribute such as `<td nowrap>`).
struct HTMLAttribute: Equatable {
    var name: String
    var value: String?
}

/// Receives the events of ``LibXMLHTMLPushParser``. The parser guarantees that every `start` is
/// matched by exactly one `end`, in stack order, whatever the input.
protocol HTMLEventSink: AnyObject {
    func start(_ name: String, _ attributes: [HTMLAttribute])
    func end(_ name: String)
    /// A run of text, UTF-8, never split inside a character. Raw text of `<script>` and `<style>`
    /// is never reported.
    func text(_ bytes: UnsafeRawBufferPointer)
}

/// libxml2's HTML push parser (`htmlCreatePushParserCtxt` + `htmlParseChunk`) driving SAX
/// callbacks, never building a tree. This folder is the only place in the module that touches
/// libxml2.
///
/// Options: `HTML_PARSE_NONET | HTML_PARSE_NOIMPLIED | HTML_PARSE_IGNORE_ENC | HTML_PARSE_RECOVER`
/// plus `NOERROR`/`NOWARNING`. The HTML parser has no DTD or entity loading (its entity table is
/// HTML 4's, built in); the SAX handler sets no `internalSubset`, `getEntity`, `resolveEntity`,
/// `comment` or `processingInstruction` callback. Errors reach the per-context `serror` callback
/// (the handler carries `XML_SAX2_MAGIC` so libxml2 uses it), never the global handler; malformed
/// HTML is never an error, only an out-of-memory report is.
///
/// Four guards work around libxml2 2.9's push HTML parser so that memory stays bounded and no input
/// is silently lost:
/// - **Pinned root.** A fragment is parsed inside a synthetic root element whose name no end tag can
///   spell, so that `</html>` or `</p>` at top level never empties the element stack (in 2.9 that
///   moves the parser to its epilog state, which drops everything after).
/// - **Shrinking.** Consumed input is dropped from the parser's buffer after every piece (2.9 never
///   shrinks it in push mode) and the lookahead index is restarted (2.9 leaves it stale after a
///   shrink, which stalls the parser until the end of input).
/// - **Pending limit.** A single token that never ends (an unclosed comment, quote or tag, a text run
///   with no `<` or `&`) makes libxml2 buffer input until it does. When more than
///   ``pendingLimit`` bytes are pending, the parser is told the input ended (so it reports what it
///   holds), a fresh parser is started, and the open elements are replayed into it silently, so the
///   event stream continues as before.
/// - **Depth cap.** libxml2 2.9's HTML parser has no nesting limit. Beyond ``depthCap`` open
///   elements, a newly started element (other than the raw-text `script`/`style`) is removed from
///   libxml2's stack at once and reported as empty (start and end); what it contains follows as
///   siblings.
///
/// Three more make the result independent of where the input is cut into pieces (streaming gives
/// the same bytes as `sanitize` of the whole string):
/// - **Lookahead.** A `<` is handed over only with ``lookahead`` bytes after it (``safeCut(_:before:)``).
/// - **Raw text.** Inside `<script>`/`<style>`, a piece never starts with a `</` that does not end
///   the element (``parse(_:upTo:)``): 2.9 would take the next end tag for the script's end.
/// - **Comment openers.** `<!-->`, `<!--->`, `<!--!>` and `<!---!>` get a space after `<!--`
///   (``padCommentOpeners(_:)``): 2.9 would drop whatever input it held when such a comment's end
///   had not arrived yet.
final class LibXMLHTMLPushParser {
    /// Bytes libxml2 may hold for one unfinished token before the parser is restarted.
    static let pendingLimit = 1 << 20
    /// Open elements in libxml2's stack, beyond which new ones are reported empty.
    static let depthCap = 512
    /// Size of the pieces handed to `htmlParseChunk`.
    static let pieceSize = 64 << 10
    /// Bytes after a `<` that libxml2 must see before it parses the `<` (`</script` + 2).
    static let lookahead = 10

    private static let rootName = "satchel fragment"

    private let sink: any HTMLEventSink
    private var ctxt: htmlParserCtxtPtr
    /// The elements reported open to the sink, innermost last.
    private var open: [String] = []
    private enum Mode { case normal, silent, flushing }
    private var mode = Mode.normal
    private var failure: ManifestError?
    /// Input held back from libxml2 (see ``feed(_:)``).
    private var held: [UInt8] = []
    private var finished = false

    /// Statistics for tests and benchmarks: the most input bytes libxml2 held at once (consumed
    /// but not yet dropped, plus pending), the deepest open-element stack, restarts.
    private(set) var maxHeldBytes = 0
    private(set) var maxOpenElements = 0
    private(set) var restarts = 0

    init(sink: any HTMLEventSink) throws(ManifestError) {
        LibXML.initialize()
        self.sink = sink
        ctxt = try Self.makeContext()
        try start()
    }

    deinit {
        Self.free(ctxt)
    }

    /// Feeds the next piece of input, which must be UTF-8 ending on a character boundary.
    ///
    /// libxml2 is handed the input only up to a ``safeCut(_:before:)``; the rest (at most
    /// ``lookahead`` bytes) is held back until more input arrives.
    func feed(_ bytes: UnsafeRawBufferPointer) throws(ManifestError) {
        precondition(!finished, "feed after finish")
        guard !bytes.isEmpty else { return }
        var data = held
        data.append(contentsOf: bytes)
        Self.padCommentOpeners(&data)
        let cut = Self.safeCut(data, before: data.count)
        held = Array(data[cut...])
        try parse(data, upTo: cut)
    }

    /// The last position at or before `end` where the input may be cut between two calls to
    /// `htmlParseChunk`: on a character boundary (a restart must see whole characters only), and
    /// not after a `<` among the ``lookahead`` bytes before `end`. libxml2 2.9 decides what a `<`
    /// starts (`<!DOCTYPE`, `<!--`, `</script`) from the bytes it has, so a cut there would change
    /// the result.
    static func safeCut(_ data: [UInt8], before end: Int) -> Int {
        var cut = min(end, data.count)
        while cut > 0, cut < data.count, data[cut] & 0xC0 == 0x80 { cut -= 1 }
        if let lt = data[max(0, cut - lookahead)..<cut].lastIndex(of: UInt8(ascii: "<")) {
            cut = lt
        }
        return cut
    }

    /// Writes `<!--` followed by `>`, `->`, `!>` or `-!>` as `<!-- ` and what followed.
    ///
    /// libxml2 2.9's push parser decides that a comment is complete when it has a `-->` or `--!>`
    /// that may overlap the `<!--` (`<!-->` qualifies), while its comment parser needs one after
    /// the `<!--`: so on `<!-->` it parses the comment before its end has arrived, finds none, and
    /// drops all the input it has, however much that is. With the space the comment runs to the
    /// next `-->` or `--!>` (as libxml2 reads it when the whole input is there), whatever the
    /// pieces. Idempotent: already padded input is unchanged, so `held` may go through it again.
    /// An opener cut off at the end of `data` is still held (a `<` near the end always is) and is
    /// padded once it is complete.
    static func padCommentOpeners(_ data: inout [UInt8]) {
        var found: [Int] = []
        data.withUnsafeBytes { bytes in
            let count = bytes.count
            var offset = 0
            while offset < count,
                  let hit = memchr(bytes.baseAddress! + offset, Int32(UInt8(ascii: "<")), count - offset) {
                let at = UnsafeRawPointer(hit) - bytes.baseAddress!
                offset = at + 1
                guard at + 4 < count, bytes[at + 1] == UInt8(ascii: "!"), bytes[at + 2] == UInt8(ascii: "-"),
                      bytes[at + 3] == UInt8(ascii: "-") else { continue }
                var i = at + 4
                if i < count, bytes[i] == UInt8(ascii: "-") { i += 1 }
                if i < count, bytes[i] == UInt8(ascii: "!") { i += 1 }
                if i < count, bytes[i] == UInt8(ascii: ">") { found.append(at + 4) }
            }
        }
        for index in found.reversed() { data.insert(UInt8(ascii: " "), at: index) }
    }

    /// Hands `data[..<end]` to libxml2 in pieces of at most ``pieceSize`` bytes, each ending at a
    /// ``safeCut(_:before:)`` (the bytes from `end` on are lookahead only).
    ///
    /// Raw text: libxml2 2.9's push parser, inside `<script>` or `<style>`, reads the first two
    /// pending bytes before it reads the text, and when they are `</` it takes what follows the
    /// text it read for an end tag, even when that `</` was not `</script` (or `</style`) and was
    /// read as text. Within one piece that only happens right after the start tag, but a piece that
    /// starts with such a `</` (a cut lands right before it) would let the next `</p>` end the
    /// script and let the markup after it through, so the output would depend on the cuts. The
    /// `<` of such a `</` is not handed over: it is raw text, which is dropped anyway, and what
    /// libxml2 then reads (text up to the real `</script`) is the same.
    private func parse(_ data: [UInt8], upTo end: Int) throws(ManifestError) {
        try ManifestError.catching {
            try data.withUnsafeBytes { bytes in
                var offset = 0
                while offset < end {
                    var stop = end
                    if end - offset > Self.pieceSize {
                        stop = Self.safeCut(data, before: offset + Self.pieceSize)
                        if stop <= offset { stop = min(end, offset + Self.pieceSize) }
                    }
                    let next = bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self)
                    if satchel_htmlRawTextFalseEndTag(ctxt, next, stop - offset) == 1 {
                        offset += 1
                        if offset == stop { continue }
                    }
                    let base = bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self)
                    htmlParseChunk(ctxt, base, Int32(stop - offset), 0)
                    try check()
                    maxHeldBytes = max(maxHeldBytes, Int(satchel_parserHeld(ctxt)))
                    satchel_parserShrink(ctxt)
                    if satchel_parserPending(ctxt) > Self.pendingLimit {
                        try restart()
                    }
                    offset = stop
                }
            }
        }
    }

    /// Ends the input: libxml2 reports what it still holds and closes what is open.
    func finish() throws(ManifestError) {
        precondition(!finished, "finish() called twice")
        let rest = held
        held = []
        try parse(rest, upTo: rest.count)
        finished = true
        htmlParseChunk(ctxt, nil, 0, 1)
        try check()
        while let name = open.popLast() { sink.end(name) }
    }

    // MARK: - Context life cycle

    private static func makeContext() throws(ManifestError) -> htmlParserCtxtPtr {
        var sax = htmlSAXHandler()
        install(into: &sax)
        guard let ctxt = htmlCreatePushParserCtxt(&sax, nil, nil, 0, nil, XML_CHAR_ENCODING_UTF8) else {
            throw ManifestError(.internal, "libxml2 could not create an HTML parser context")
        }
        let options = HTML_PARSE_NONET.rawValue | HTML_PARSE_NOIMPLIED.rawValue
            | HTML_PARSE_IGNORE_ENC.rawValue | HTML_PARSE_RECOVER.rawValue
            | HTML_PARSE_NOERROR.rawValue | HTML_PARSE_NOWARNING.rawValue
        htmlCtxtUseOptions(ctxt, Int32(options))
        return ctxt
    }

    private static func free(_ ctxt: htmlParserCtxtPtr) {
        ctxt.pointee._private = nil
        htmlFreeParserCtxt(ctxt)
    }

    /// Attaches self to the context, opens the pinned root and replays `open` silently.
    private func start() throws(ManifestError) {
        ctxt.pointee._private = Unmanaged.passUnretained(self).toOpaque()
        mode = .silent
        defer { mode = .normal }
        try parseSilently("<x>")
        guard satchel_htmlPinRoot(ctxt, Self.rootName) == 1 else {
            throw ManifestError(.internal, "libxml2's HTML parser did not open the fragment root")
        }
        for name in open { try parseSilently("<\(name)>") }
    }

    private func parseSilently(_ markup: String) throws(ManifestError) {
        var bytes = Array(markup.utf8)
        bytes.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                _ = htmlParseChunk(ctxt, chars.baseAddress, Int32(chars.count), 0)
            }
        }
        try check()
    }

    /// Makes libxml2 report the unfinished token it holds (as at the end of input, ignoring the
    /// end-of-input closing of open elements), then continues in a fresh context.
    private func restart() throws(ManifestError) {
        let inComment = pendingStarts(with: "<!--")
        mode = .flushing
        htmlParseChunk(ctxt, nil, 0, 1)
        mode = .normal
        try check()
        let fresh = try Self.makeContext()
        Self.free(ctxt)
        ctxt = fresh
        restarts += 1
        try start()
        // An unfinished comment goes on being one in the new context.
        if inComment {
            mode = .silent
            defer { mode = .normal }
            try parseSilently("<!-- ")
        }
    }

    private func pendingStarts(with prefix: String) -> Bool {
        guard let input = ctxt.pointee.input, let cur = input.pointee.cur else { return false }
        let bytes = Array(prefix.utf8)
        guard satchel_parserPending(ctxt) >= bytes.count else { return false }
        return bytes.indices.allSatisfy { cur[$0] == bytes[$0] }
    }

    private func check() throws(ManifestError) {
        if let failure { throw failure }
    }

    // MARK: - Events

    private func startElement(_ name: String, _ attributes: [HTMLAttribute]) {
        guard mode != .silent else { return }
        let depth = Int(ctxt.pointee.nameNr)
        if depth > Self.depthCap && name != "script" && name != "style" {
            satchel_htmlPopJustPushed(ctxt)
            sink.start(name, attributes)
            sink.end(name)
            return
        }
        open.append(name)
        maxOpenElements = max(maxOpenElements, open.count)
        sink.start(name, attributes)
    }

    private func endElement(_ name: String) {
        switch mode {
        case .silent:
            return
        case .flushing:
            // The closing of everything at the (pretended) end of input.
            if satchel_parserPending(ctxt) == 0 { return }
        case .normal:
            break
        }
        guard let index = open.lastIndex(of: name) else { return }
        while open.count > index {
            sink.end(open.removeLast())
        }
    }

    private func characters(_ bytes: UnsafeRawBufferPointer) {
        guard mode != .silent else { return }
        sink.text(bytes)
    }

    private func serror(_ error: xmlError) {
        guard failure == nil, Int(error.code) == Int(XML_ERR_NO_MEMORY.rawValue) else { return }
        failure = ManifestError(.internal, "libxml2 ran out of memory while parsing HTML")
    }

    private static func from(_ ctx: UnsafeMutableRawPointer?) -> LibXMLHTMLPushParser? {
        guard let ctx else { return nil }
        let ctxt = ctx.assumingMemoryBound(to: xmlParserCtxt.self)
        guard let raw = ctxt.pointee._private else { return nil }
        return Unmanaged<LibXMLHTMLPushParser>.fromOpaque(raw).takeUnretainedValue()
    }

    /// The SAX handler: elements, text and errors only. The user data of every callback is the
    /// parser context (push parser created with `user_data == NULL`).
    private static func install(into sax: inout htmlSAXHandler) {
        sax.initialized = satchel_saxMagic()
        sax.startElement = { ctx, name, atts in
            guard let parser = LibXMLHTMLPushParser.from(ctx), let name else { return }
            var attributes: [HTMLAttribute] = []
            if let atts {
                var i = 0
                while let attName = atts[i] {
                    attributes.append(HTMLAttribute(name: String(cString: attName),
                                                    value: atts[i + 1].map { String(cString: $0) }))
                    i += 2
                }
            }
            parser.startElement(String(cString: name), attributes)
        }
        sax.endElement = { ctx, name in
            guard let parser = LibXMLHTMLPushParser.from(ctx), let name else { return }
            parser.endElement(String(cString: name))
        }
        let characters: charactersSAXFunc = { ctx, ch, len in
            guard let parser = LibXMLHTMLPushParser.from(ctx), let ch, len > 0 else { return }
            parser.characters(UnsafeRawBufferPointer(start: ch, count: Int(len)))
        }
        sax.characters = characters
        sax.ignorableWhitespace = characters
        // Raw text of <script> and <style>: never content.
        sax.cdataBlock = { _, _, _ in }
        sax.comment = nil
        sax.processingInstruction = nil
        sax.internalSubset = nil
        sax.externalSubset = nil
        sax.getEntity = { _, _ in nil }
        sax.getParameterEntity = { _, _ in nil }
        sax.resolveEntity = { _, _, _ in nil }
        sax.entityDecl = nil
        sax.reference = nil
        sax.startDocument = nil
        sax.endDocument = nil
        sax.warning = nil
        sax.error = nil
        sax.fatalError = nil
        sax.serror = { ctx, error in
            guard let parser = LibXMLHTMLPushParser.from(ctx), let error else { return }
            parser.serror(error.pointee)
        }
    }
}

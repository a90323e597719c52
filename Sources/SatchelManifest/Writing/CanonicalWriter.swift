/// Writes canonical manifest XML into a sink, in bounded memory.
///
/// Canonical form (docs/FORMAT.md ("Manifests")): UTF-8, no XML declaration, no BOM, no whitespace
/// between tags, no comments; the root element carries `xmlns="<vocabulary namespace>"` as its
/// first attribute and no prefixes are used; attributes follow sorted by name (byte order), each
/// as `name="value"`; an element with neither children nor text is written `<name/>`; escaping is
/// Canonical XML 1.0's: text `&amp; &lt; &gt; &#xD;`, attribute values `&amp; &lt; &quot; &#x9;
/// &#xA; &#xD;`; everything else is written as is (line ends inside text are the LF of the value).
///
/// Output goes to the sink in pieces of at most `bufferSize` bytes, so text of any length streams
/// through without being copied whole.
public final class CanonicalWriter {
    /// Receives the output in order. Errors it throws abort the write.
    public typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    private let sink: Sink
    private let bufferSize: Int
    private var buffer: [UInt8] = []
    private var open: [String] = []
    private var startTagPending = false
    private var namespace: String?
    private var rootWritten = false
    /// Bytes handed to the sink so far plus those still buffered.
    public private(set) var byteCount = 0

    /// A writer whose root element gets `namespace`, handing pieces of at most `bufferSize` bytes
    /// (at least 64) to `sink`.
    public init(namespace: String, bufferSize: Int = 32 << 10, sink: @escaping Sink) {
        self.namespace = namespace
        self.bufferSize = max(bufferSize, 64)
        self.sink = sink
        buffer.reserveCapacity(self.bufferSize + 64)
    }

    /// Starts an element. Attributes with a nil value are left out; the rest are sorted by name.
    public func start(_ name: String, _ attributes: [(String, String?)] = []) throws {
        precondition(!(rootWritten && open.isEmpty), "a manifest has one root element")
        try closePendingStartTag()
        append(0x3C)
        append(name)
        if let ns = namespace {
            append(" xmlns=\"")
            try appendEscaped(ns, attribute: true)
            append(0x22)
            namespace = nil
        }
        var present = attributes.compactMap { a in a.1.map { (a.0, $0) } }
        if present.count > 1 {
            present.sort { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
        }
        for (key, value) in present {
            append(0x20)
            append(key)
            append(0x3D)
            append(0x22)
            try appendEscaped(value, attribute: true)
            append(0x22)
        }
        open.append(name)
        rootWritten = true
        startTagPending = true
        try flushIfFull()
    }

    /// Ends the innermost open element (`/>` if it got no content).
    public func end() throws {
        guard let name = open.popLast() else { preconditionFailure("end() without an open element") }
        if startTagPending {
            append("/>")
            startTagPending = false
        } else {
            append("</")
            append(name)
            append(0x3E)
        }
        try flushIfFull()
    }

    /// An element with attributes and no content.
    public func empty(_ name: String, _ attributes: [(String, String?)] = []) throws {
        try start(name, attributes)
        try end()
    }

    /// An element with no attributes whose content is the text `value`.
    public func textElement(_ name: String, _ value: String) throws {
        try textElement(name, [], value)
    }

    /// An element whose content is the text `value` (written `<name/>` when empty).
    public func textElement(_ name: String, _ attributes: [(String, String?)], _ value: String) throws {
        try start(name, attributes)
        try text(value)
        try end()
    }

    /// Escaped character data inside the innermost open element.
    public func text(_ value: String) throws {
        precondition(!open.isEmpty, "text outside the root element")
        guard !value.isEmpty else { return }
        try closePendingStartTag()
        try appendEscaped(value, attribute: false)
    }

    /// Escaped character data from UTF-8 pieces of any size (a sequence may be split anywhere,
    /// even inside a character). Invalid UTF-8 is refused.
    public func text<Chunks: Sequence>(utf8Chunks chunks: Chunks) throws where Chunks.Element: Collection<UInt8> {
        precondition(!open.isEmpty, "text outside the root element")
        var carry: [UInt8] = []
        for chunk in chunks {
            var bytes = carry
            bytes.append(contentsOf: chunk)
            // Keep an incomplete trailing sequence for the next piece.
            var cut = bytes.count
            var back = 0
            while back < 3, cut - back - 1 >= 0, bytes[cut - back - 1] & 0xC0 == 0x80 { back += 1 }
            if cut - back - 1 >= 0 {
                let lead = bytes[cut - back - 1]
                let need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
                if need > back + 1 { cut -= back + 1 }
            }
            carry = Array(bytes[cut...])
            guard let piece = String(validating: bytes[..<cut], as: UTF8.self) else {
                throw ManifestError(.encoding, "text is not valid UTF-8")
            }
            try text(piece)
        }
        guard carry.isEmpty else { throw ManifestError(.encoding, "text ends inside a UTF-8 sequence") }
    }

    /// Checks that the document is complete and hands the rest of the buffer to the sink.
    public func finish() throws {
        precondition(open.isEmpty && rootWritten, "finish() with open elements or no root")
        try flush()
    }

    // MARK: - Output

    private func closePendingStartTag() throws {
        if startTagPending {
            append(0x3E)
            startTagPending = false
        }
    }

    @inline(__always) private func append(_ byte: UInt8) {
        buffer.append(byte)
    }

    private func append(_ ascii: String) {
        buffer.append(contentsOf: ascii.utf8)
    }

    private func flushIfFull() throws {
        if buffer.count >= bufferSize { try flush() }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        byteCount += buffer.count
        try buffer.withUnsafeBytes { try sink($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Escapes `value` into the buffer, flushing as it fills. Refuses characters XML 1.0 can't
    /// carry (C0 controls other than tab, LF, CR; U+FFFE; U+FFFF).
    private func appendEscaped(_ value: String, attribute: Bool) throws {
        var value = value
        try value.withUTF8 { utf8 in
            var runStart = 0
            var i = 0
            let n = utf8.count
            while i < n {
                let byte = utf8[i]
                var replacement: String?
                switch byte {
                case 0x26: replacement = "&amp;"
                case 0x3C: replacement = "&lt;"
                case 0x3E where !attribute: replacement = "&gt;"
                case 0x22 where attribute: replacement = "&quot;"
                case 0x0D: replacement = "&#xD;"
                case 0x09 where attribute: replacement = "&#x9;"
                case 0x0A where attribute: replacement = "&#xA;"
                case 0x09, 0x0A: break
                case 0x00..<0x20:
                    throw ManifestError(.invalidValue, "text contains a control character XML 1.0 cannot carry")
                case 0xEF where i + 2 < n && utf8[i + 1] == 0xBF && (utf8[i + 2] == 0xBE || utf8[i + 2] == 0xBF):
                    throw ManifestError(.invalidValue, "text contains U+FFFE or U+FFFF, which XML 1.0 cannot carry")
                default: break
                }
                if let replacement {
                    if runStart < i { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
                    append(replacement)
                    runStart = i + 1
                }
                i += 1
                if i - runStart >= bufferSize || buffer.count >= bufferSize {
                    buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i]))
                    runStart = i
                    try flush()
                }
            }
            if runStart < n { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<n])) }
        }
        try flushIfFull()
    }
}

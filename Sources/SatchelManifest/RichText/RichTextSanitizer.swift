/// Turns the balanced element/text events of the HTML parser into canonical sanitized HTML,
/// appending to ``output`` (which the caller drains).
///
/// Two stacks: `frames` follows the parser's elements (each written, unwrapped or dropped);
/// `written` holds the elements open in the output. They differ because unwrapped and dropped
/// elements write nothing, and because a written element may be closed early: before writing a
/// start tag, the written elements it would close are closed (``RichTextPolicy/Tag/isClosed(by:)``),
/// exactly as libxml2 will when it parses the output again. With that, and with every decision
/// depending only on the written stack, the output parses back to itself.
final class RichTextSanitizer: HTMLEventSink {
    typealias Tag = RichTextPolicy.Tag

    /// Sanitized bytes not yet taken by the caller.
    var output: [UInt8] = []

    private enum Frame {
        case written(serial: Int)
        case unwrapped
        case dropped
    }

    private var frames: [Frame] = []
    private var written: [(tag: Tag, serial: Int)] = []
    private var nextSerial = 0
    private var dropDepth = 0
    /// The last text byte written was a CR turned into LF: an LF right after it is dropped.
    private var afterCR = false

    init() {
        output.reserveCapacity(80 << 10)
    }

    // MARK: - Events

    func start(_ name: String, _ attributes: [HTMLAttribute]) {
        if dropDepth > 0 {
            frames.append(.dropped)
            dropDepth += 1
            return
        }
        switch RichTextPolicy.disposition(of: name) {
        case .drop:
            frames.append(.dropped)
            dropDepth += 1
        case .unwrap:
            frames.append(.unwrapped)
        case .keep(let tag):
            frames.append(open(tag, attributes))
        }
    }

    func end(_ name: String) {
        guard let frame = frames.popLast() else { return }
        switch frame {
        case .dropped:
            dropDepth -= 1
        case .unwrapped:
            break
        case .written(let serial):
            // Children ended first, so a still-open element is the top of `written`; one closed
            // early by a later start tag is gone from it.
            if let top = written.last, top.serial == serial {
                written.removeLast()
                writeEndTag(top.tag)
            }
        }
    }

    func text(_ bytes: UnsafeRawBufferPointer) {
        guard dropDepth == 0 else { return }
        writeEscaped(bytes, attribute: false)
    }

    /// Closes every element still open in the output.
    func finish() {
        while let top = written.popLast() { writeEndTag(top.tag) }
        frames.removeAll()
    }

    // MARK: - Writing elements

    private func open(_ tag: Tag, _ attributes: [HTMLAttribute]) -> Frame {
        var href: String?
        if tag == .a {
            href = attributes.first { $0.name == "href" }?.value.flatMap(RichTextPolicy.safeHref)
            guard href != nil else { return .unwrapped }
        }
        // The written elements this start tag closes, innermost first.
        var keep = written.count
        while keep > 0, written[keep - 1].tag.isClosed(by: tag) { keep -= 1 }
        let parent = keep > 0 ? written[keep - 1].tag : nil
        guard tag.mayAppear(in: parent) else { return .unwrapped }
        if tag == .a, written[..<keep].contains(where: { $0.tag == .a }) { return .unwrapped }
        if !tag.isVoid, keep + 1 > RichTextPolicy.maxDepth { return .unwrapped }

        while written.count > keep { writeEndTag(written.removeLast().tag) }
        afterCR = false
        append("<")
        append(tag.rawValue)
        if let href {
            append(" href=\"")
            writeEscaped(Array(href.utf8), attribute: true)
            append("\" rel=\"")
            append(RichTextPolicy.linkRel)
            append("\"")
        }
        if tag.isAlignable, let align = RichTextPolicy.alignment(attributes) {
            append(" align=\"")
            append(align)
            append("\"")
        }
        append(">")
        afterCR = false
        if tag.isVoid { return .unwrapped }
        nextSerial += 1
        written.append((tag, nextSerial))
        return .written(serial: nextSerial)
    }

    private func writeEndTag(_ tag: Tag) {
        afterCR = false
        append("</")
        append(tag.rawValue)
        append(">")
    }

    private func append(_ ascii: String) {
        output.append(contentsOf: ascii.utf8)
    }

    private func writeEscaped(_ bytes: [UInt8], attribute: Bool) {
        bytes.withUnsafeBytes { writeEscaped($0, attribute: attribute) }
    }

    /// Appends UTF-8 text with `&`, `<`, `>` (and `"` in attributes) escaped, CR and CRLF turned
    /// into LF, and control characters other than TAB and LF (C0, DEL, C1) removed.
    private func writeEscaped(_ bytes: UnsafeRawBufferPointer, attribute: Bool) {
        var runStart = 0
        var i = 0
        let count = bytes.count
        func flush(_ end: Int) {
            if end > runStart {
                output.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<end]))
            }
        }
        while i < count {
            let byte = bytes[i]
            let replacement: String?
            var skip = 1
            switch byte {
            case UInt8(ascii: "&"): replacement = "&amp;"
            case UInt8(ascii: "<"): replacement = "&lt;"
            case UInt8(ascii: ">"): replacement = "&gt;"
            case UInt8(ascii: "\"") where attribute: replacement = "&quot;"
            case 0x0D: replacement = "\n"
            case 0x0A where afterCR: replacement = ""
            case 0x09, 0x0A: replacement = nil
            case 0x00...0x1F, 0x7F: replacement = ""
            case 0xC2 where i + 1 < count && (0x80...0x9F).contains(bytes[i + 1]):
                replacement = ""
                skip = 2
            default: replacement = nil
            }
            if let replacement {
                flush(i)
                output.append(contentsOf: replacement.utf8)
                runStart = i + skip
            }
            afterCR = byte == 0x0D
            i += skip
        }
        flush(count)
    }
}

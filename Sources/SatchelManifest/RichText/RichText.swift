import Foundation
import SatchelStore
import SystemPackage

/// The safe rich-text subset of message bodies: HTML sanitized by allow-list.
///
/// Input is parsed by libxml2's HTML parser (push mode, SAX events, no tree, no network, no DTD or
/// entity loading) and written back as canonical HTML holding only the allowed elements and
/// attributes (docs/FORMAT.md ("Rich-text bodies")): bold, italic, underline, strikethrough, paragraphs, line
/// breaks, headings, block quotes, lists, tables, alignment and http/https/mailto links. Script,
/// style, embedded documents and forms are removed with their content, other unknown elements are
/// unwrapped, every other attribute, comment, processing instruction and CDATA section is removed,
/// and text is re-escaped.
///
/// Malformed HTML is recovered from, never an error. The same input always gives the same bytes,
/// and sanitizing sanitized output changes nothing.
public enum RichText {
    /// Sanitizes an HTML fragment to the allowed subset; returns the canonical sanitized HTML.
    ///
    /// Never throws for any `String` in practice: Swift strings are valid UTF-8, and U+0000 is
    /// replaced. Throws ``ManifestError`` with code `internal` if libxml2 fails (out of memory).
    public static func sanitize(_ html: String) throws -> String {
        var result: [UInt8] = []
        var input = html
        let pipeline = try Pipeline()
        try ManifestError.catching {
            try input.withUTF8 { bytes in
                try pipeline.feed(UnsafeRawBufferPointer(bytes)) { result.append(contentsOf: $0) }
            }
        }
        try pipeline.finish { result.append(contentsOf: $0) }
        return String(decoding: result, as: UTF8.self)
    }

    /// Streams a file of HTML through the sanitizer into a new file at `output` (bounded memory
    /// whatever the input size: libxml2's HTML push parser with SAX callbacks, no tree).
    ///
    /// Both files go through the store's I/O layer (so fault injection sees every read and
    /// write): the input must be a regular file (a FIFO or device is refused, never read), and
    /// the output is a ``DurableFile``: written under a temporary name next to `output`, synced
    /// in ``DurableFile/Mode/durable`` mode, and published only when complete and never over an
    /// existing file. On failure nothing is left behind.
    ///
    /// Throws ``ManifestError``: `io` when a file cannot be read or written (or `output` already
    /// exists), `encoding` when the input is not UTF-8 (with the byte offset of the first
    /// invalid sequence), `internal` if libxml2 fails.
    public static func sanitizeFile(at input: String, to output: String,
                                    mode: DurableFile.Mode = .durable) throws {
        try sanitizeFile(at: input, to: output, mode: mode, statistics: nil)
    }

    /// Sanitizes everything `source` yields, handing the canonical output to `emit` piece by
    /// piece (each piece at most a bounded size): the streaming core of ``sanitizeFile(at:to:mode:)``.
    public static func sanitize(from source: inout some ByteSource,
                                emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        _ = try stream(from: &source, what: "the body", emit: emit)
    }

    /// ``sanitizeFile(at:to:mode:)``, reporting the parser's memory-relevant high-water marks.
    static func sanitizeFile(at input: String, to output: String, mode: DurableFile.Mode = .durable,
                             statistics: ((StreamStatistics) -> Void)?) throws(ManifestError) {
        let fd: FileDescriptor
        do { (fd, _) = try InputFile.open(input) } catch {
            throw ManifestError(.io, "cannot open \(input) for reading", cause: error)
        }
        defer { try? fd.close() }
        let file: DurableFile
        do { file = try DurableFile(creating: output, mode: mode) } catch {
            throw ManifestError(.io, "cannot create \(output)", cause: error)
        }
        var source = FileSource(fd)
        let stats = try stream(from: &source, what: input) { bytes in
            do { try file.write(bytes) } catch { throw ManifestError(.io, "writing \(output) failed", cause: error) }
        }
        do { try file.publish() } catch { throw ManifestError(.io, "cannot publish \(output)", cause: error) }
        statistics?(stats)
    }

    /// Reads `source` in 64 KiB pieces through a ``Pipeline``; returns its statistics.
    private static func stream(from source: inout some ByteSource, what: String,
                               emit: (UnsafeRawBufferPointer) throws -> Void) throws(ManifestError) -> StreamStatistics {
        let pipeline = try Pipeline()
        var pending: [UInt8] = []
        pending.reserveCapacity(128 << 10)
        func write(_ bytes: UnsafeRawBufferPointer) throws(ManifestError) {
            pending.append(contentsOf: bytes)
            if pending.count >= 64 << 10 { try drain() }
        }
        func drain() throws(ManifestError) {
            guard !pending.isEmpty else { return }
            try ManifestError.catching { try pending.withUnsafeBytes { try emit($0) } }
            pending.removeAll(keepingCapacity: true)
        }
        var piece = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n: Int
            do { n = try piece.withUnsafeMutableBytes { try source.read(into: $0) } } catch {
                throw ManifestError(.io, "reading \(what) failed", cause: error)
            }
            if n == 0 { break }
            try ManifestError.catching {
                try piece.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
                    try pipeline.feed(UnsafeRawBufferPointer(rebasing: bytes[0..<n]), write)
                }
            }
        }
        try pipeline.finish(write)
        try drain()
        return pipeline.statistics
    }

    /// High-water marks of one streamed run, for tests: they stay bounded whatever the input size.
    struct StreamStatistics: Sendable {
        /// Most input bytes libxml2 held in its buffer at once.
        var maxParserBytes: Int
        /// Deepest element stack the parser reported.
        var maxOpenElements: Int
        /// Most sanitized bytes waiting to be written at once.
        var maxOutputBytes: Int
        /// Times a never-ending token made the parser restart.
        var restarts: Int
    }

    /// UTF-8 check → libxml2 HTML push parser → sanitizer, one piece at a time.
    final class Pipeline {
        private var input = UTF8Input()
        private let sanitizer = RichTextSanitizer()
        private let parser: LibXMLHTMLPushParser
        private var scratch: [UInt8] = []
        private var maxOutputBytes = 0

        init() throws(ManifestError) {
            parser = try LibXMLHTMLPushParser(sink: sanitizer)
            scratch.reserveCapacity(64 << 10)
        }

        /// Feeds a piece of input; hands sanitized output to `emit` (a piece of input never yields
        /// more than a bounded amount of output).
        func feed(_ bytes: UnsafeRawBufferPointer,
                  _ emit: (UnsafeRawBufferPointer) throws(ManifestError) -> Void) throws(ManifestError) {
            var offset = 0
            while offset < bytes.count {
                let n = min(bytes.count - offset, 64 << 10)
                scratch.removeAll(keepingCapacity: true)
                try input.process(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]), into: &scratch)
                try ManifestError.catching { try scratch.withUnsafeBytes { try parser.feed($0) } }
                try drain(emit)
                offset += n
            }
        }

        func finish(_ emit: (UnsafeRawBufferPointer) throws(ManifestError) -> Void) throws(ManifestError) {
            try input.finish()
            try parser.finish()
            sanitizer.finish()
            try drain(emit)
        }

        private func drain(_ emit: (UnsafeRawBufferPointer) throws(ManifestError) -> Void) throws(ManifestError) {
            maxOutputBytes = max(maxOutputBytes, sanitizer.output.count)
            guard !sanitizer.output.isEmpty else { return }
            try ManifestError.catching { try sanitizer.output.withUnsafeBytes { try emit($0) } }
            sanitizer.output.removeAll(keepingCapacity: true)
        }

        var statistics: StreamStatistics {
            StreamStatistics(maxParserBytes: parser.maxHeldBytes, maxOpenElements: parser.maxOpenElements,
                             maxOutputBytes: maxOutputBytes, restarts: parser.restarts)
        }
    }
}

extension ManifestError {
    /// Runs `body`, which throws only `ManifestError`, through APIs that rethrow untyped errors
    /// (`withUnsafeBytes`, `withUTF8`).
    static func catching<R>(_ body: () throws -> R) throws(ManifestError) -> R {
        do {
            return try body()
        } catch let error as ManifestError {
            throw error
        } catch {
            throw ManifestError(.internal, "unexpected error", cause: error)
        }
    }
}

import Foundation

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
    /// The input is read in 64 KiB pieces. The output is written to a temporary file next to
    /// `output`, flushed to disk (`fsync`) and renamed over `output` only when complete: a reader
    /// never sees half a file, and on failure nothing is left behind.
    ///
    /// Throws ``ManifestError``: `io` when a file cannot be read or written, `encoding` when the
    /// input is not UTF-8 (with the byte offset of the first invalid sequence), `internal` if
    /// libxml2 fails.
    public static func sanitizeFile(at input: String, to output: String) throws {
        try sanitizeFile(at: input, to: output, statistics: nil)
    }

    /// ``sanitizeFile(at:to:)``, reporting the parser's memory-relevant high-water marks.
    static func sanitizeFile(at input: String, to output: String,
                             statistics: ((StreamStatistics) -> Void)?) throws(ManifestError) {
        guard let reader = FileHandle(forReadingAtPath: input) else {
            throw ManifestError(.io, "cannot open \(input) for reading")
        }
        defer { try? reader.close() }
        let temporary = temporaryPath(for: output)
        guard FileManager.default.createFile(atPath: temporary, contents: nil),
              let writer = FileHandle(forWritingAtPath: temporary) else {
            throw ManifestError(.io, "cannot create \(temporary)")
        }
        var renamed = false
        defer {
            try? writer.close()
            if !renamed { try? FileManager.default.removeItem(atPath: temporary) }
        }
        let pipeline = try Pipeline()
        var pending: [UInt8] = []
        pending.reserveCapacity(128 << 10)
        func write(_ bytes: UnsafeRawBufferPointer) throws(ManifestError) {
            pending.append(contentsOf: bytes)
            if pending.count >= 64 << 10 { try drain() }
        }
        func drain() throws(ManifestError) {
            do { try writer.write(contentsOf: pending) } catch {
                throw ManifestError(.io, "writing \(temporary) failed", cause: error)
            }
            pending.removeAll(keepingCapacity: true)
        }
        while true {
            let piece: Data
            do { piece = try reader.read(upToCount: 64 << 10) ?? Data() } catch {
                throw ManifestError(.io, "reading \(input) failed", cause: error)
            }
            if piece.isEmpty { break }
            try ManifestError.catching {
                try piece.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in try pipeline.feed(bytes, write) }
            }
        }
        try pipeline.finish(write)
        try drain()
        do {
            try writer.synchronize()
        } catch {
            throw ManifestError(.io, "flushing \(temporary) to disk failed", cause: error)
        }
        guard rename(temporary, output) == 0 else {
            throw ManifestError(.io, "cannot rename \(temporary) to \(output): \(String(cString: strerror(errno)))")
        }
        renamed = true
        statistics?(pipeline.statistics)
    }

    /// `.<name>.<random>.tmp` in the directory of `path`.
    private static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let name = ".\(url.lastPathComponent).\(UInt64.random(in: 0...UInt64.max)).tmp"
        return url.deletingLastPathComponent().appendingPathComponent(name).path
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

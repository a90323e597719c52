import Foundation
import SatchelStore
import SystemPackage

/// How far to trust the bytes being read.
public enum ManifestTrust: Sendable {
    /// From outside this store (import, bundle, backup, HTTP): hardened parse, vocabulary check,
    /// XSD validation, then typed decoding with reference checks.
    case untrusted
    /// Written by this store and read back after its hash was verified: hardened parse, vocabulary
    /// check and typed decoding, without the XSD pass.
    case trusted
}

/// The hardened reader: bytes (in memory, in chunks, or from a file) → ``ManifestElement``.
///
/// Every read: libxml2 push parse with no network, no DTD, no entities and ``ParseLimits`` checked
/// as the input streams in; then the root's namespace is checked against the vocabularies this
/// build knows (``Vocabulary/identify(namespace:expected:line:column:)``); then, for untrusted
/// input, the vocabulary's XSD is validated. Every refusal is a ``ManifestError`` with a line and,
/// where libxml2 knows it, a column.
public enum ManifestReader {
    /// Input at least this large is scanned before a document tree is built.
    static let scanThreshold = 1 << 20

    /// Reads a manifest held in memory.
    ///
    /// Input of ``scanThreshold`` bytes or more is first scanned without building a tree (every
    /// guard and limit, flat memory), so input that breaks a limit late (a million tiny elements
    /// in 32 MiB) is refused before libxml2 builds hundreds of megabytes of nodes for it.
    public static func read(_ bytes: some ContiguousBytes, expecting vocabulary: Vocabulary? = nil,
                            trust: ManifestTrust = .untrusted,
                            limits: ParseLimits = .default) throws(ManifestError) -> ManifestElement {
        if bytes.withUnsafeBytes({ $0.count >= scanThreshold }) {
            let scanner = try LibXMLPushParser(limits: limits, buildTree: false)
            try scanner.feed(bytes)
            try scanner.scan()
        }
        let parser = try LibXMLPushParser(limits: limits)
        try parser.feed(bytes)
        return try finish(parser, vocabulary, trust)
    }

    /// Reads a manifest from a stream of pieces (from a file, a socket, a bundle), feeding each to
    /// the parser as it arrives: input over ``ParseLimits/maxInputBytes`` is refused without
    /// reading further. An error thrown by the sequence becomes an ``ManifestError/Code/io`` error.
    public static func read<Chunks: Sequence>(chunks: Chunks, expecting vocabulary: Vocabulary? = nil,
                                              trust: ManifestTrust = .untrusted,
                                              limits: ParseLimits = .default) throws(ManifestError) -> ManifestElement
    where Chunks.Element == [UInt8] {
        let parser = try LibXMLPushParser(limits: limits)
        for chunk in chunks {
            try parser.feed(chunk)
        }
        return try finish(parser, vocabulary, trust)
    }

    /// Reads a manifest from `next()`, which returns the next piece or nil at the end and may throw
    /// (wrapped as an ``ManifestError/Code/io`` error).
    public static func read(next: () throws -> [UInt8]?, expecting vocabulary: Vocabulary? = nil,
                            trust: ManifestTrust = .untrusted,
                            limits: ParseLimits = .default) throws(ManifestError) -> ManifestElement {
        let parser = try LibXMLPushParser(limits: limits)
        while true {
            let chunk: [UInt8]?
            do { chunk = try next() } catch {
                throw ManifestError(.io, "reading the manifest failed", cause: error)
            }
            guard let chunk else { break }
            try parser.feed(chunk)
        }
        return try finish(parser, vocabulary, trust)
    }

    /// Reads a manifest file in 64 KiB pieces.
    public static func read(fileAtPath path: String, expecting vocabulary: Vocabulary? = nil,
                            trust: ManifestTrust = .untrusted,
                            limits: ParseLimits = .default) throws(ManifestError) -> ManifestElement {
        let fd: FileDescriptor
        do { fd = try InputFile.open(path).fd } catch {
            throw ManifestError(.io, "cannot open \(path)", cause: error)
        }
        defer { try? fd.close() }
        var source = FileSource(fd)
        return try read(next: {
            var chunk = [UInt8](repeating: 0, count: 64 << 10)
            let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
            return n == 0 ? nil : Array(chunk[0..<n])
        }, expecting: vocabulary, trust: trust, limits: limits)
    }

    private static func finish(_ parser: LibXMLPushParser, _ expected: Vocabulary?,
                               _ trust: ManifestTrust) throws(ManifestError) -> ManifestElement {
        let document = try parser.finish()
        let root = document.rootIdentity
        let (vocabulary, version) = try Vocabulary.identifyVersion(namespace: root.namespace, expected: expected,
                                                                   line: root.line, column: root.column)
        if trust == .untrusted {
            try SchemaRegistry.shared.schema(for: vocabulary, version: version).validate(document)
        }
        return try document.rootElement()
    }
}

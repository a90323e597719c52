import Foundation
import SatchelManifest
import SatchelStore
import SystemPackage

/// The bundle file layout, format version 2 (docs/FORMAT.md, "Bundles"):
///
/// ```
/// 0    8  magic "SATCHBDL"
/// 8    4  format version = 2
/// 12   4  header length H (uncompressed)
/// 16   8  pack length P (uncompressed)
/// 24   …  one zlib (RFC 1950) stream of H header bytes (canonical XML, urn:satchel:bundle:1)
///         followed by P pack bytes (SPAK format, every entry stored, no index)
/// end-32  SHA-256 of every preceding byte
/// ```
///
/// Header and pack are compressed together so that near-identical manifests (and the header's
/// heads) share one deflate window; blobs that are compressed already travel at level 0.
enum BundleFile {
    /// The sealed-file framing (magic, version, 24-byte prefix, trailing SHA-256).
    static let layout = SealedFile.Layout(name: "bundle", magic: "SATCHBDL", version: 2, prefixSize: 24)
    static var magic: [UInt8] { layout.magic }
    static var version: UInt32 { layout.version }
    static var prefixSize: Int { layout.prefixSize }
    static let maxHeaderBytes = 64 << 20
    /// Pack header (16) + trailer (40): the smallest valid pack.
    static let minimumPackBytes: UInt64 = 56
    /// zlib level of the stream; level 0 around incompressible blobs of at least
    /// `storedBlobMinimum` bytes (smaller ones are not worth the block flush of a level switch).
    static let level: Int32 = 6
    static let storedBlobMinimum: UInt64 = 4096
    /// Capabilities this build understands; a bundle naming any other is refused.
    static let capabilities: Set<String> = ["threads-1", "threads-2", "envelopes-1", "drafts-1", "checkpoints-1", zlibBlobs]
    /// The capability of a bundle whose pack holds zlib entries of blobs: a large compressible
    /// blob as the sender's store holds it, adopted as it is by the receiver's store.
    static let zlibBlobs = "zlib-blobs-1"
    /// An honest bundle's payloads add up to at most ~1032 times its size (deflate's largest
    /// ratio; a zlib entry travels at level 0). A bundle whose entries declare more than this
    /// many times its size is refused at the entry that crosses it (nested compression bomb).
    static let maxExpansion: UInt64 = 1100

    /// Writes prefix + compressed (header + pack) + checksum to `path` as a ``DurableFile``
    /// (temp → fsync → publish without overwriting → fsync directory; `.exists` if `path` is
    /// taken). `packPath` is a detached pack whose entries are all stored. `mode` `.ephemeral`
    /// skips the fsyncs (a bundle handed straight to a local peer). Returns the size in bytes.
    static func write(header: BundleHeader, packPath: String, to path: String,
                      mode: DurableFile.Mode = .durable) throws -> UInt64 {
        let pack = try FileDescriptor.open(FilePath(packPath), .readOnly, options: [.closeOnExec])
        defer { try? pack.close() }
        let packLength = UInt64(try pack.seek(offset: 0, from: .end))
        guard packLength >= minimumPackBytes else { throw SyncError(.badInput, "pack \(packPath) is too short") }
        return try writeFile(header: header, packLength: packLength, to: path, mode: mode) { sink in
            try streamPack(pack, length: packLength, into: sink)
        }
    }

    /// The one writer of the file layout: prefix, then header and the pack `body` writes (exactly
    /// `packLength` bytes) through one deflate stream, then the checksum; published as a
    /// ``DurableFile`` only when all of it was written.
    static func writeFile(header: BundleHeader, packLength: UInt64, to path: String, mode: DurableFile.Mode,
                                  body: (DeflateSink) throws -> Void) throws -> UInt64 {
        let headerBytes = try header.encoded()
        guard headerBytes.count <= maxHeaderBytes else {
            throw SyncError(.badInput, "the bundle header is \(headerBytes.count) bytes, over the \(maxHeaderBytes)-byte limit")
        }
        let prefix = layout.prefix {
            BigEndian.append(&$0, UInt32(headerBytes.count))
            BigEndian.append(&$0, packLength)
        }
        let out = try SealedFile.Writer(creating: path, prefix: prefix, mode: mode)
        do {
            let sink = DeflateSink(level: level) { try out.write($0) }
            try sink.write(headerBytes)
            try body(sink)
            try sink.finish()
        } catch {
            out.discard()
            throw error
        }
        return try out.seal()
    }

    /// One object of a bundle being written by ``write(header:objects:from:to:mode:)``: a
    /// manifest's bytes when the walk that found it kept them, else read from the store.
    struct Object {
        var id: ObjectID
        var kind: ObjectKind
        var length: UInt64
        var bytes: [UInt8]?
        /// The bytes wait in the ``ManifestSpool``, in the order of the objects.
        var spooled = false
        /// A large blob the store holds zlib-encoded in a pack: its entry is copied as it is.
        var packed: PackedEntry?
    }

    /// Manifests read by a bundle's walk and kept for its writing, in a scratch file in the
    /// store's `tmp/` (appended in walk order, read back in the same order, then removed).
    final class ManifestSpool {
        let path: String
        private var file: DurableFile?
        private var reader: FileDescriptor?
        private var readOffset: Int64 = 0

        init(store: ObjectStore) {
            path = store.scratchPath("spool-", suffix: ".tmp")
        }

        func append(_ bytes: [UInt8]) throws {
            if file == nil { file = try DurableFile(creating: path, mode: .ephemeral) }
            try file!.write(bytes)
        }

        /// The next `length` bytes, in the order they were appended.
        func next(_ length: UInt64) throws -> [UInt8] {
            if let file {
                try file.publish()
                self.file = nil
            }
            if reader == nil { reader = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec]) }
            var bytes = [UInt8](repeating: 0, count: Int(length))
            var source = FileRangeSource(reader!, offset: readOffset, end: Int64.max)
            let filled = try bytes.withUnsafeMutableBytes { try source.readFully(into: $0) }
            guard filled == bytes.count else { throw StoreError(.truncated, "the bundle's manifest spool ends early", path: path) }
            readOffset += Int64(filled)
            return bytes
        }

        func remove() {
            file?.discard()
            if let reader { try? reader.close() }
            reader = nil
            try? LocalFiles.remove(path)
        }
    }

    /// zlib level for compressible blobs of at least `largeBlobMinimum` bytes: the store's
    /// level, so a large text attachment costs one fast deflate, not a slow one.
    static let largeBlobLevel: Int32 = 1
    static let largeBlobMinimum: UInt64 = 1 << 20

    /// Writes a bundle whose pack is streamed from the store into the compressed stream as it
    /// goes: every object is read (and verified) once and compressed once, with no temporary
    /// pack; a ``Object/packed`` blob's entry is copied as the store holds it (CRC-checked), at
    /// level 0, and never deflated again. Same file as ``write(header:packPath:to:mode:)``
    /// writes; the pack's size is known up front (stored entries, and packed entries' sizes).
    static func write(header: BundleHeader, objects: [Object], from store: ObjectStore, spool: ManifestSpool? = nil,
                      to path: String, mode: DurableFile.Mode = .durable) throws -> UInt64 {
        let packed = objects.compactMap(\.packed)
        guard let packLength = PackStreamWriter.size(ofPayloads: objects.lazy.filter { $0.packed == nil }.map(\.length), packed: packed) else {
            throw SyncError(.badInput, "the bundle's objects add up to more than 2^64 bytes")
        }
        return try writeFile(header: header, packLength: packLength, to: path, mode: mode) { sink in
            let pack = PackStreamWriter { try sink.write($0) }
            let probe = CompressionProbe()
            for object in objects {
                if let bytes = object.bytes {
                    try pack.add(object.kind, bytes)
                    continue
                }
                if object.spooled, let spool {
                    try pack.add(object.kind, try spool.next(object.length))
                    continue
                }
                if let entry = object.packed {
                    try sink.setLevel(0)
                    try pack.add(entry, from: store)
                    try sink.setLevel(level)
                    continue
                }
                let choose = object.kind == .blob && object.length >= storedBlobMinimum
                try pack.add(object.id, kind: object.kind, length: object.length, from: store) { first in
                    guard choose else { return }
                    guard let first else { return try sink.setLevel(level) }
                    let sample = UnsafeRawBufferPointer(rebasing: first.prefix(probe.policy.sampleLength))
                    let compress = probe.shouldCompress(sample: sample, totalLength: object.length)
                    try sink.setLevel(!compress ? 0 : object.length >= largeBlobMinimum ? largeBlobLevel : level)
                }
            }
            try pack.finish()
        }
    }

    /// Feeds the pack's bytes to `sink` unchanged, walking its entries so that the payload of an
    /// incompressible blob (by the store's ``CompressionPolicy``: magic numbers, then a sample)
    /// goes through at level 0.
    private static func streamPack(_ pack: FileDescriptor, length: UInt64, into sink: DeflateSink) throws {
        var cursor = FileCursor(fd: pack, end: Int64(length))
        let probe = CompressionProbe()
        try sink.write(try cursor.take(16))  // pack header
        let entriesEnd = Int64(length) - 40
        while cursor.position < entriesEnd {
            let entryHeader = try cursor.take(10)
            guard entryHeader[1] == 0 else { throw StoreError(.corrupt, "bundle pack entry is not stored") }
            let payload = entryHeader.withUnsafeBytes { BigEndian.uint64($0, at: 2) }
            try sink.write(entryHeader)
            var stored = false
            if entryHeader[0] == ObjectKind.blob.rawValue && payload >= storedBlobMinimum {
                let sample = try cursor.peek(Int(min(payload, UInt64(probe.policy.sampleLength))))
                stored = !sample.withUnsafeBytes { probe.shouldCompress(sample: $0, totalLength: payload) }
            }
            if stored { try sink.setLevel(0) }
            try cursor.copy(payload, to: sink)
            if stored { try sink.setLevel(level) }
        }
        guard cursor.position == entriesEnd else { throw StoreError(.corrupt, "bundle pack entries overrun its trailer") }
        try cursor.copy(40, to: sink)
    }

    /// Sequential buffered reads of a file up to `end`.
    private struct FileCursor {
        let fd: FileDescriptor
        let end: Int64
        /// Position of the next byte handed out.
        private(set) var position: Int64 = 0
        private var filePosition: Int64 = 0
        private var buffer = [UInt8](repeating: 0, count: 1 << 20)
        private var start = 0
        private var stop = 0

        init(fd: FileDescriptor, end: Int64) {
            self.fd = fd
            self.end = end
        }

        /// Makes at least `n` (≤ buffer size) bytes available, or throws at the end.
        private mutating func ensure(_ n: Int) throws {
            if stop - start >= n { return }
            if start > 0 {
                buffer.withUnsafeMutableBytes { raw in
                    raw.baseAddress!.copyMemory(from: raw.baseAddress! + start, byteCount: stop - start)
                }
                stop -= start
                start = 0
            }
            while stop - start < n {
                let want = Int(min(Int64(buffer.count - stop), end - filePosition))
                guard want > 0 else { throw StoreError(.corrupt, "bundle pack ends early") }
                let at = filePosition
                let got = try buffer.withUnsafeMutableBytes { raw in
                    try fd.read(fromAbsoluteOffset: at, into: UnsafeMutableRawBufferPointer(rebasing: raw[stop..<(stop + want)]))
                }
                guard got > 0 else { throw StoreError(.corrupt, "bundle pack ends early") }
                filePosition += Int64(got)
                stop += got
            }
        }

        mutating func peek(_ n: Int) throws -> [UInt8] {
            try ensure(n)
            return Array(buffer[start..<(start + n)])
        }

        mutating func take(_ n: Int) throws -> [UInt8] {
            let bytes = try peek(n)
            start += n
            position += Int64(n)
            return bytes
        }

        mutating func copy(_ count: UInt64, to sink: DeflateSink) throws {
            var left = count
            while left > 0 {
                if start == stop { try ensure(1) }
                let k = Int(min(left, UInt64(stop - start)))
                try buffer.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[start..<(start + k)])) }
                start += k
                position += Int64(k)
                left -= UInt64(k)
            }
        }
    }

    /// An opened, checksum-verified bundle: its header, and the decompressing stream positioned
    /// at the start of its pack.
    final class Opened {
        let header: BundleHeader
        let packLength: UInt64
        let bytes: UInt64
        private let file: SealedFile
        private let stream: InflatingSource

        fileprivate init(file: SealedFile, header: BundleHeader, packLength: UInt64, stream: InflatingSource) {
            self.file = file
            self.header = header
            self.packLength = packLength
            self.bytes = UInt64(file.size)
            self.stream = stream
        }

        /// Reads the pack (once) as it streams out of the decompressor. Entries are stored, but
        /// for zlib entries of blobs in a bundle declaring ``BundleFile/zlibBlobs``; together
        /// they may declare at most ``BundleFile/maxExpansion`` times the file's size.
        func packReader() -> PackStreamReader {
            let (limit, overflow) = bytes.multipliedReportingOverflow(by: BundleFile.maxExpansion)
            return PackStreamReader(source: stream, length: Int64(packLength),
                                    encodings: header.capabilities.contains(BundleFile.zlibBlobs) ? .storedAndZlibBlobs : .storedOnly,
                                    payloadLimit: overflow ? .max : limit)
        }

        /// After the pack was read completely: the compressed stream must end exactly there,
        /// with nothing after it before the checksum, and (opened with `checksumFirst: false`)
        /// the checksum computed as the file was read must match.
        func finish() throws {
            do {
                try stream.finish()
                try file.finish()
            } catch { throw BundleFile.error(error) }
        }

        /// Writes the raw pack bytes to a new file at `path` (tests, tooling).
        func copyPack(to path: String) throws {
            let out = try DurableFile(creating: path, mode: .ephemeral)
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            var left = packLength
            while left > 0 {
                let want = Int(min(left, UInt64(buffer.count)))
                let n = try buffer.withUnsafeMutableBytes { try stream.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want])) }
                guard n > 0 else { throw SyncError(.badInput, "bundle pack ends early") }
                try buffer.withUnsafeBytes { try out.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                left -= UInt64(n)
            }
            try out.publish()
        }

        func close() { file.close() }
    }

    /// Opens a bundle: checks magic, version, the trailing checksum over the whole file, then
    /// inflates the header and checks its schema and capabilities. Any damage is `.badInput`
    /// naming what failed.
    ///
    /// `checksumFirst: false` (apply) reads the file once: the checksum is computed as the
    /// stream is read and checked by ``Opened/finish()``, which the caller must reach before
    /// anything it read takes effect. Until then, a damaged file can only fail later checks.
    static func open(_ path: String, checksumFirst: Bool = true) throws -> Opened {
        let file: SealedFile
        do { file = try SealedFile.open(path, layout: layout, verification: checksumFirst ? .atOpen : .whileReading) } catch {
            throw Self.error(error)
        }
        do {
            let headerLength = Int(file.prefix.withUnsafeBytes { BigEndian.uint32($0, at: 12) })
            let packLength = file.prefix.withUnsafeBytes { BigEndian.uint64($0, at: 16) }
            guard headerLength <= maxHeaderBytes, packLength >= minimumPackBytes, packLength < UInt64(Int64.max) else {
                throw SyncError(.badInput, "bundle header or pack length is impossible (truncated or tampered)")
            }
            let stream = InflatingSource(source: file.body(from: Int64(prefixSize)))
            let header = try readHeader(stream, length: headerLength)
            return Opened(file: file, header: header, packLength: packLength, stream: stream)
        } catch {
            file.close()
            throw Self.error(error)
        }
    }

    /// A damaged file is bad input; a missing one is not found; I/O failures pass through.
    static func error(_ error: any Error) -> any Error {
        guard let error = error as? StoreError else { return error }
        if error.isDamage { return SyncError(.badInput, "bundle is damaged: \(error.message)") }
        if error.code == .notFound { return SyncError(.notFound, error.message) }
        return error
    }

    /// Inflates the header's bytes and checks its schema and capabilities.
    private static func readHeader(_ stream: InflatingSource, length: Int) throws -> BundleHeader {
        var headerBytes = [UInt8](repeating: 0, count: length)
        var source: any ByteSource = stream
        guard try headerBytes.withUnsafeMutableBytes({ try source.readFully(into: $0) }) == length else {
            throw SyncError(.badInput, "bundle is damaged: its compressed stream ends inside the header")
        }
        let header: BundleHeader
        do { header = try BundleHeader.decode(headerBytes, trust: .untrusted) } catch {
            throw SyncError(.badInput, "bundle header is invalid: \(error)")
        }
        for capability in header.capabilities where !capabilities.contains(capability) {
            throw SyncError(.badInput, "bundle needs capability '\(capability)', which this build does not have; upgrade Satchel")
        }
        return header
    }
}

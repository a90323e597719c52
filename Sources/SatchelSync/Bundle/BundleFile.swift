import Crypto
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
    static let magic: [UInt8] = Array("SATCHBDL".utf8)
    static let version: UInt32 = 2
    static let prefixSize = 24
    static let maxHeaderBytes = 64 << 20
    /// Pack header (16) + trailer (40): the smallest valid pack.
    static let minimumPackBytes: UInt64 = 56
    /// zlib level of the stream; level 0 around incompressible blobs of at least
    /// `storedBlobMinimum` bytes (smaller ones are not worth the block flush of a level switch).
    static let level: Int32 = 6
    static let storedBlobMinimum: UInt64 = 4096
    /// Capabilities this build understands; a bundle naming any other is refused.
    static let capabilities: Set<String> = ["threads-1", "threads-2", "envelopes-1", "drafts-1", "checkpoints-1"]

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
    private static func writeFile(header: BundleHeader, packLength: UInt64, to path: String, mode: DurableFile.Mode,
                                  body: (DeflateSink) throws -> Void) throws -> UInt64 {
        let headerBytes = try header.encoded()
        var prefix = magic
        BigEndian.append(&prefix, version)
        BigEndian.append(&prefix, UInt32(headerBytes.count))
        BigEndian.append(&prefix, packLength)

        let out = try DurableFile(creating: path, mode: mode)
        var sha = SHA256()
        func emit(_ bytes: UnsafeRawBufferPointer) throws {
            sha.update(bufferPointer: bytes)
            try out.write(bytes)
        }
        do {
            try prefix.withUnsafeBytes { try emit($0) }
            let sink = DeflateSink(level: level) { try emit($0) }
            try sink.write(headerBytes)
            try body(sink)
            try sink.finish()
            try out.write(Array(sha.finalize()))
        } catch {
            out.discard()
            throw error
        }
        let total = out.count
        try out.publish()
        return total
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
    }

    /// Manifests read by a bundle's walk and kept for its writing, in a scratch file in the
    /// store's `tmp/` (appended in walk order, read back in the same order, then removed).
    final class ManifestSpool {
        let path: String
        private var file: DurableFile?
        private var reader: FileDescriptor?
        private var readOffset: Int64 = 0

        init(directory: String) throws {
            path = directory + "/spool-" + UUID().uuidString.lowercased() + ".tmp"
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
            var filled = 0
            while filled < bytes.count {
                let n = try bytes.withUnsafeMutableBytes {
                    try reader!.read(fromAbsoluteOffset: readOffset + Int64(filled), into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...]))
                }
                guard n > 0 else { throw StoreError(.truncated, "the bundle's manifest spool ends early", path: path) }
                filled += n
            }
            readOffset += Int64(filled)
            return bytes
        }

        func remove() {
            file?.discard()
            if let reader { try? reader.close() }
            reader = nil
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// zlib level for compressible blobs of at least `largeBlobMinimum` bytes: the store's
    /// level, so a large text attachment costs one fast deflate, not a slow one.
    static let largeBlobLevel: Int32 = 1
    static let largeBlobMinimum: UInt64 = 1 << 20

    /// Writes a bundle whose pack is streamed from the store into the compressed stream as it
    /// goes: every object is read (and verified) once and compressed once, with no temporary
    /// pack. Same file as ``write(header:packPath:to:mode:)`` writes; the pack's size is known
    /// up front because its entries are stored.
    static func write(header: BundleHeader, objects: [Object], from store: ObjectStore, spool: ManifestSpool? = nil,
                      to path: String, mode: DurableFile.Mode = .durable) throws -> UInt64 {
        guard let packLength = PackStreamWriter.size(ofPayloads: objects.lazy.map(\.length)) else {
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
                let choose = object.kind == .blob && object.length >= storedBlobMinimum
                // A large blob the store holds compressed goes in as its own deflate blocks.
                let splice = object.kind == .blob && object.length >= largeBlobMinimum ? sink : nil
                try pack.add(object.id, kind: object.kind, length: object.length, from: store, splicingInto: splice) { first in
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
        let fd: FileDescriptor
        let header: BundleHeader
        let packLength: UInt64
        let bytes: UInt64
        private let stream: InflatingSource
        /// Set when the checksum is checked as the stream is read (``open(_:checksumFirst:)``).
        private let deferred: ChecksummingSource?

        fileprivate init(fd: FileDescriptor, header: BundleHeader, packLength: UInt64, bytes: UInt64, stream: InflatingSource,
                         deferred: ChecksummingSource?) {
            self.fd = fd
            self.header = header
            self.packLength = packLength
            self.bytes = bytes
            self.stream = stream
            self.deferred = deferred
        }

        /// Reads the pack (once) as it streams out of the decompressor.
        func packReader() -> PackStreamReader {
            PackStreamReader(source: stream, length: Int64(packLength), storedOnly: true)
        }

        /// After the pack was read completely: the compressed stream must end exactly there,
        /// with nothing after it before the checksum.
        func finish() throws {
            do { try stream.finish() } catch let error as StoreError {
                throw SyncError(.badInput, "bundle is damaged: \(error.message)")
            }
            if let deferred { try deferred.check() }
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

        func close() { try? fd.close() }
    }

    /// The bytes `[offset, end)` of a bundle file, hashed as they are read; ``check()`` then
    /// compares the hash of the whole file before the trailer with the trailer. One read of the
    /// file serves both the checksum and the content.
    final class ChecksummingSource: ByteSource {
        private var range: FileRangeSource
        private var sha = SHA256()
        private let trailerOffset: Int64

        init(_ fd: FileDescriptor, prefix: [UInt8], offset: Int64, end: Int64) {
            range = FileRangeSource(fd, offset: offset, end: end)
            trailerOffset = end
            sha.update(data: prefix)
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let n = try range.read(into: buffer)
            sha.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            return n
        }

        /// After everything up to the trailer was read: the trailer must match.
        func check() throws {
            guard range.position == trailerOffset else { throw SyncError(.badInput, "bundle is truncated") }
            var trailer = [UInt8](repeating: 0, count: 32)
            let n = try trailer.withUnsafeMutableBytes { try range.descriptor.read(fromAbsoluteOffset: trailerOffset, into: $0) }
            guard n == 32, Array(sha.finalize()) == trailer else {
                throw SyncError(.badInput, "bundle checksum does not match: the file is damaged, truncated or tampered with")
            }
        }
    }

    /// Opens a bundle: checks magic, version, the trailing checksum over the whole file, then
    /// inflates the header and checks its schema and capabilities. Any damage is `.badInput`
    /// naming what failed.
    ///
    /// `checksumFirst: false` (apply) reads the file once: the checksum is computed as the
    /// stream is read and checked by ``Opened/finish()``, which the caller must reach before
    /// anything it read takes effect. Until then, a damaged file can only fail later checks.
    static func open(_ path: String, checksumFirst: Bool = true) throws -> Opened {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec]) } catch {
            throw SyncError(.notFound, "cannot open bundle \(path)")
        }
        do {
            let size = try fd.seek(offset: 0, from: .end)
            guard size >= Int64(prefixSize + 32) else { throw SyncError(.badInput, "bundle \(path) is truncated") }
            var prefix = [UInt8](repeating: 0, count: prefixSize)
            _ = try prefix.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: 0, into: $0) }
            guard Array(prefix[0..<8]) == magic else { throw SyncError(.badInput, "\(path) is not a Satchel bundle") }
            let fileVersion = prefix.withUnsafeBytes { BigEndian.uint32($0, at: 8) }
            guard fileVersion == version else {
                throw SyncError(.badInput, "bundle format version \(fileVersion) is not supported (this build reads \(version))")
            }
            let headerLength = Int(prefix.withUnsafeBytes { BigEndian.uint32($0, at: 12) })
            let packLength = prefix.withUnsafeBytes { BigEndian.uint64($0, at: 16) }
            guard headerLength <= maxHeaderBytes, packLength >= minimumPackBytes, packLength < UInt64(Int64.max) else {
                throw SyncError(.badInput, "bundle header or pack length is impossible (truncated or tampered)")
            }
            let body = size - 32
            if !checksumFirst {
                let source = ChecksummingSource(fd, prefix: prefix, offset: Int64(prefixSize), end: body)
                let stream = InflatingSource(source: source)
                let header = try readHeader(stream, length: headerLength)
                return Opened(fd: fd, header: header, packLength: packLength, bytes: UInt64(size), stream: stream, deferred: source)
            }
            // Trailing checksum over everything before it.
            var sha = SHA256()
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var position: Int64 = 0
            while position < body {
                let want = Int(min(Int64(buffer.count), body - position))
                let n = try buffer.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: position, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want])) }
                if n == 0 { throw SyncError(.badInput, "bundle is truncated") }
                buffer.withUnsafeBytes { sha.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                position += Int64(n)
            }
            var trailer = [UInt8](repeating: 0, count: 32)
            _ = try trailer.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: body, into: $0) }
            guard Array(sha.finalize()) == trailer else {
                throw SyncError(.badInput, "bundle checksum does not match: the file is damaged, truncated or tampered with")
            }
            let stream = InflatingSource(source: FileRangeSource(fd, offset: Int64(prefixSize), end: body))
            let header = try readHeader(stream, length: headerLength)
            return Opened(fd: fd, header: header, packLength: packLength, bytes: UInt64(size), stream: stream, deferred: nil)
        } catch {
            try? fd.close()
            throw error
        }
    }

    /// Inflates the header's bytes and checks its schema and capabilities.
    private static func readHeader(_ stream: InflatingSource, length: Int) throws -> BundleHeader {
        var headerBytes = [UInt8](repeating: 0, count: length)
        do {
            var filled = 0
            while filled < length {
                let n = try headerBytes.withUnsafeMutableBytes { try stream.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
                guard n > 0 else { throw StoreError(.truncated, "compressed stream ends inside the header") }
                filled += n
            }
        } catch let error as StoreError {
            throw SyncError(.badInput, "bundle is damaged: \(error.message)")
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

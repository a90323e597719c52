import Crypto
import SystemPackage

/// The container shared by sync bundles and backup archives: a file that is sealed by a trailing
/// SHA-256 of every byte before it.
///
/// ```
/// 0            8   magic (names the format: "SATCHBDL", "SATCHBAK")
/// 8            4   format version, big-endian
/// 12           …   the rest of the format's fixed prefix (lengths, the hash algorithm)
/// prefixSize   …   the body: the format's XML header and its pack, through the format's
///                  transform (one zlib stream for bundles; as is, or AES-256-GCM chunks
///                  after a header MAC, for archives)
/// end-32      32   SHA-256 of every preceding byte
/// ```
///
/// This type is the one writer and the one reader of that framing. ``Writer`` writes through a
/// ``DurableFile`` (temporary name, fsync, published without overwriting, directory fsynced)
/// and hashes as it goes. ``open(_:layout:verification:)`` checks the size, magic and version and
/// the trailer, either over the whole file before anything is read (``Verification/atOpen``) or
/// as the body streams, in one read of the file (``Verification/whileReading``: nothing read may
/// take effect before ``finish()`` passed). What a format puts in its prefix and body, and how
/// it transforms the body, stays with the format.
///
/// Errors are ``StoreError``s: `.notFound` or `.io` when the file cannot be opened or read,
/// `.truncated` or `.corrupt` (``StoreError/isDamage``) for anything wrong with its bytes, the
/// message naming the format (``Layout/name``) and the path.
public final class SealedFile {
    /// Size of the trailing checksum.
    public static let trailerSize = 32

    /// What identifies one format of sealed file.
    public struct Layout: Sendable {
        /// What the format is called in messages ("bundle", "backup archive").
        public var name: String
        /// The first 8 bytes of every file of the format.
        public var magic: [UInt8]
        /// The format version this build writes and reads (bytes 8–11).
        public var version: UInt32
        /// Bytes of fixed prefix, magic and version included.
        public var prefixSize: Int

        /// A layout; `magic` must be 8 bytes and `prefixSize` at least 12.
        public init(name: String, magic: String, version: UInt32, prefixSize: Int) {
            precondition(magic.utf8.count == 8 && prefixSize >= 12)
            self.name = name
            self.magic = Array(magic.utf8)
            self.version = version
            self.prefixSize = prefixSize
        }

        /// The prefix: magic, version, then what `fields` appends (must fill it exactly).
        public func prefix(_ fields: (inout [UInt8]) -> Void) -> [UInt8] {
            var bytes = magic
            BigEndian.append(&bytes, version)
            fields(&bytes)
            precondition(bytes.count == prefixSize, "the \(name) prefix is \(bytes.count) bytes, not \(prefixSize)")
            return bytes
        }
    }

    /// When the trailer is checked.
    public enum Verification: Sendable {
        /// Over the whole file, before ``open(_:layout:verification:)`` returns.
        case atOpen
        /// While ``body(from:)`` is read from the end of the prefix; ``finish()`` checks it.
        case whileReading
    }

    /// The path opened.
    public let path: String
    /// The format.
    public let layout: Layout
    /// The open file (closed by ``close()`` or when this value is dropped).
    public let descriptor: FileDescriptor
    /// The file's size in bytes.
    public let size: Int64
    /// The fixed prefix (``Layout/prefixSize`` bytes), magic and version checked.
    public let prefix: [UInt8]
    private let verification: Verification
    private var streamed: ChecksummingSource?
    private var closed = false

    /// Offset of the trailer: the body is `[prefixSize, bodyEnd)`.
    public var bodyEnd: Int64 { size - Int64(Self.trailerSize) }

    private init(path: String, layout: Layout, descriptor: FileDescriptor, size: Int64, prefix: [UInt8],
                 verification: Verification) {
        self.path = path
        self.layout = layout
        self.descriptor = descriptor
        self.size = size
        self.prefix = prefix
        self.verification = verification
    }

    deinit { close() }

    /// Closes the file. Safe to call more than once.
    public func close() {
        guard !closed else { return }
        closed = true
        try? descriptor.close()
    }

    /// Opens `path` as a file of `layout`: at least a prefix and a trailer long, the right magic
    /// and version, and (``Verification/atOpen``) a trailer that matches.
    public static func open(_ path: String, layout: Layout, verification: Verification) throws -> SealedFile {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec]) } catch {
            throw StoreError.io(error, path: path, "cannot open \(layout.name) \(path)")
        }
        let size: Int64
        var prefix = [UInt8](repeating: 0, count: layout.prefixSize)
        do {
            size = try fd.seek(offset: 0, from: .end)
            guard size >= Int64(layout.prefixSize + trailerSize) else {
                throw StoreError(.truncated, "\(layout.name) \(path) is truncated (\(size) bytes)", path: path)
            }
            try readExactly(fd, at: 0, into: &prefix, path: path, name: layout.name)
            guard Array(prefix[0..<8]) == layout.magic else {
                throw StoreError(.corrupt, "\(path) is not a Satchel \(layout.name) (bad magic)", path: path)
            }
            let version = prefix.withUnsafeBytes { BigEndian.uint32($0, at: 8) }
            guard version == layout.version else {
                throw StoreError(.corrupt, "\(layout.name) format version \(version) is not supported (this build reads \(layout.version))",
                                 path: path)
            }
        } catch {
            try? fd.close()
            throw StoreError.io(error, path: path, "cannot read \(layout.name) \(path)")
        }
        // From here the value owns the descriptor and alone closes it: a second close could
        // close another thread's file that has reused the number.
        let file = SealedFile(path: path, layout: layout, descriptor: fd, size: size, prefix: prefix, verification: verification)
        if verification == .atOpen {
            do { try file.checkWholeFile() } catch {
                file.close()
                throw error
            }
        }
        return file
    }

    /// Exactly `count` bytes at `offset` (which must lie before the trailer); `.truncated` if the
    /// range reaches past it.
    public func bytes(at offset: Int64, count: Int) throws -> [UInt8] {
        guard offset >= 0, count >= 0, offset <= bodyEnd, Int64(count) <= bodyEnd - offset else {
            throw StoreError(.truncated, "\(layout.name) \(path) ends before the \(count) bytes at offset \(offset)", path: path)
        }
        var bytes = [UInt8](repeating: 0, count: count)
        try Self.readExactly(descriptor, at: offset, into: &bytes, path: path, name: layout.name)
        return bytes
    }

    /// The bytes `[offset, bodyEnd)`. With ``Verification/whileReading`` the source hashes what
    /// it yields and `offset` must be the end of the prefix (each byte before the trailer is
    /// hashed once, in order); read it to its end, then call ``finish()``.
    public func body(from offset: Int64) -> any ByteSource {
        switch verification {
        case .atOpen:
            return FileRangeSource(descriptor, offset: offset, end: bodyEnd)
        case .whileReading:
            precondition(offset == Int64(layout.prefixSize) && streamed == nil,
                         "a \(layout.name) checked while reading is read once, from the end of its prefix")
            let source = ChecksummingSource(self)
            streamed = source
            return source
        }
    }

    /// With ``Verification/whileReading``: everything up to the trailer must have been read
    /// from ``body(from:)``, and the trailer must match. Nothing with ``Verification/atOpen``.
    public func finish() throws {
        guard verification == .whileReading else { return }
        guard let streamed, streamed.range.position == bodyEnd else {
            throw StoreError(.truncated, "\(layout.name) \(path) was not read to its end (truncated or tampered)", path: path)
        }
        try compareTrailer(with: streamed.sha)
    }

    private func checkWholeFile() throws {
        var sha = SHA256()
        var source = FileRangeSource(descriptor, offset: 0, end: bodyEnd)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            buffer.withUnsafeBytes { sha.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        guard source.position == bodyEnd else {
            throw StoreError(.truncated, "\(layout.name) \(path) is truncated", path: path)
        }
        try compareTrailer(with: sha)
    }

    private func compareTrailer(with sha: SHA256) throws {
        var trailer = [UInt8](repeating: 0, count: Self.trailerSize)
        try Self.readExactly(descriptor, at: bodyEnd, into: &trailer, path: path, name: layout.name)
        guard Array(sha.finalize()) == trailer else {
            throw StoreError(.corrupt, "\(layout.name) checksum does not match: \(path) is damaged, truncated or tampered with",
                             path: path)
        }
    }

    private static func readExactly(_ fd: FileDescriptor, at offset: Int64, into bytes: inout [UInt8], path: String,
                                    name: String) throws {
        var source = FileRangeSource(fd, offset: offset, end: offset + Int64(bytes.count))
        let got: Int
        do { got = try bytes.withUnsafeMutableBytes { try source.readFully(into: $0) } } catch {
            throw StoreError.io(error, path: path, "cannot read \(name) \(path)")
        }
        guard got == bytes.count else { throw StoreError(.truncated, "\(name) \(path) is truncated", path: path) }
    }

    /// The body of a file checked while reading: hashes the prefix, then each byte it yields.
    private final class ChecksummingSource: ByteSource {
        var range: FileRangeSource
        var sha = SHA256()

        init(_ file: SealedFile) {
            range = FileRangeSource(file.descriptor, offset: Int64(file.layout.prefixSize), end: file.bodyEnd)
            sha.update(data: file.prefix)
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let n = try range.read(into: buffer)
            sha.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            return n
        }
    }

    /// Writes one sealed file: the prefix, the body in as many pieces as the format likes, then
    /// ``seal()`` appends the trailer and publishes the file (never over an existing one).
    /// Dropped or ``discard()``ed before that, it leaves nothing behind.
    public final class Writer {
        private let file: DurableFile
        private var sha = SHA256()

        /// Creates the temporary file for `path` and writes `prefix` (from ``Layout/prefix(_:)``).
        /// `.exists` when something is already at `path`.
        public init(creating path: String, prefix: [UInt8], mode: DurableFile.Mode = .durable,
                    permissions: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]) throws {
            file = try DurableFile(creating: path, mode: mode, permissions: permissions)
            do { try write(prefix) } catch {
                file.discard()
                throw error
            }
        }

        /// Bytes written so far.
        public var count: UInt64 { file.count }

        /// Appends body bytes.
        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            sha.update(bufferPointer: bytes)
            try file.write(bytes)
        }

        /// Appends body bytes.
        public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

        /// Appends the trailer and publishes; returns the file's size.
        public func seal() throws -> UInt64 {
            do { try file.write(Array(sha.finalize())) } catch {
                file.discard()
                throw error
            }
            let total = file.count
            try file.publish()
            return total
        }

        /// Removes the unfinished file. Safe to call more than once, and after ``seal()``.
        public func discard() { file.discard() }
    }
}

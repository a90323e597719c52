import SystemPackage

/// Something payload bytes can be pulled from, a chunk at a time, so that content of any size
/// streams through hashing and compression with bounded memory.
public protocol ByteSource {
    /// Fills up to `buffer.count` bytes and returns how many; 0 means the end.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// Bytes already in memory.
public struct BufferSource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0

    /// A source of `bytes`.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Copies the next bytes; 0 once all were read.
    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - offset)
        if n > 0 {
            bytes.withUnsafeBytes { raw in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<offset + n]))
            }
            offset += n
        }
        return n
    }
}

/// An open file descriptor (the caller keeps ownership and closes it).
public struct FileSource: ByteSource {
    /// The file read from.
    public let descriptor: FileDescriptor

    /// A source reading `descriptor` from its current offset.
    public init(_ descriptor: FileDescriptor) { self.descriptor = descriptor }

    /// Reads the next bytes (retrying on EINTR); 0 at the end of the file.
    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try descriptor.read(into: buffer)
    }
}

/// A byte range `[offset, end)` of an open file, read with positional reads (the caller keeps
/// ownership of the descriptor and closes it).
public struct FileRangeSource: ByteSource {
    /// The file read from.
    public let descriptor: FileDescriptor
    /// Offset of the next byte to read.
    public private(set) var position: Int64
    /// Offset just past the range.
    public let end: Int64

    /// A source of the bytes `[offset, end)` of `descriptor`.
    public init(_ descriptor: FileDescriptor, offset: Int64, end: Int64) {
        self.descriptor = descriptor
        position = offset
        self.end = end
    }

    /// Reads the next bytes of the range; 0 at its end, or where the file ends first.
    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let want = Int(min(Int64(buffer.count), max(0, end - position)))
        guard want > 0 else { return 0 }
        let n = try descriptor.read(fromAbsoluteOffset: position, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
        position += Int64(n)
        return n
    }
}

/// A source that yields `length` pseudo-random or patterned bytes without holding them, for
/// tests and benchmarks of large payloads.
public struct GeneratedSource: ByteSource {
    /// Random bytes (incompressible) or English-like text (compressible), from a seed.
    public enum Pattern: Sendable { case random(seed: UInt64), text(seed: UInt64) }
    private var remaining: UInt64
    private var generator: SplitMix64
    private let pattern: Pattern

    /// A source of `length` bytes of `pattern`.
    public init(length: UInt64, pattern: Pattern) {
        remaining = length
        self.pattern = pattern
        switch pattern {
        case .random(let seed), .text(let seed): generator = SplitMix64(seed: seed &+ 0x9E37_79B9_7F4A_7C15)
        }
    }

    private mutating func next() -> UInt64 { generator.next() }

    /// Generates the next bytes; 0 after `length` bytes.
    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = Int(min(UInt64(buffer.count), remaining))
        switch pattern {
        case .random:
            var i = 0
            while i < n {
                var word = next()
                let take = min(8, n - i)
                withUnsafeBytes(of: &word) { w in
                    for j in 0..<take { buffer[i + j] = w[j] }
                }
                i += take
            }
        case .text:
            let words: [StaticString] = ["the ", "patient ", "results ", "are ", "ready ", "please ",
                                         "call ", "clinic ", "today ", "lab ", "note ", "follow-up ",
                                         "dose ", "daily ", "with ", "water. "]
            var i = 0
            while i < n {
                let word = words[Int(next() & 15)]
                let len = word.utf8CodeUnitCount
                let take = min(len, n - i)
                for j in 0..<take { buffer[i + j] = word.utf8Start[j] }
                i += take
            }
        }
        remaining -= UInt64(n)
        return n
    }
}

extension ByteSource {
    /// Reads until `buffer` is full or the source ends; returns the bytes read (fewer than
    /// `buffer.count` only at the end).
    public mutating func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if n == 0 { break }
            filled += n
        }
        return filled
    }
}

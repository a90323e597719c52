import CZlib

// The one file in Satchel that touches zlib. Everything else sees `Deflater`, `Inflater`
// and `CRC32`.

/// A zlib failure, carrying zlib's status code.
struct ZlibStatus: Error, Sendable, CustomStringConvertible {
    var code: Int32
    var description: String { "zlib status \(code)" }
}

/// A zeroed `z_stream`, set up by zlib's `initialize` (deflateInit2 or inflateInit2). The only
/// failure those can report for valid arguments is out of memory, which is fatal.
private func newStream(_ initialize: (UnsafeMutablePointer<z_stream>) -> Int32) -> UnsafeMutablePointer<z_stream> {
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    stream.initialize(to: z_stream())
    let status = initialize(stream)
    precondition(status == Z_OK, "zlib init failed with \(status): out of memory")
    return stream
}

/// Ends (deflateEnd or inflateEnd) and frees a stream made by `newStream`.
private func freeStream(_ stream: UnsafeMutablePointer<z_stream>, _ end: (UnsafeMutablePointer<z_stream>) -> Int32) {
    _ = end(stream)
    stream.deinitialize(count: 1)
    stream.deallocate()
}

/// A reusable zlib (RFC 1950) compressor. `reset()` between objects instead of a new
/// instance: init+end per object is ~3.5× slower for small objects.
final class Deflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private var output: [UInt8]

    /// A zlib-format compressor at `level`.
    init(level: Int32 = 1, outputCapacity: Int = 256 * 1024) {
        stream = newStream { satchel_deflateInit2($0, level, 15) }
        output = [UInt8](repeating: 0, count: outputCapacity)
    }

    deinit { freeStream(stream, deflateEnd) }

    func reset() {
        deflateReset(stream)
    }

    /// Compresses `input`; with `finish`, ends the stream. Output goes to `sink` in pieces.
    func compress(_ input: UnsafeRawBufferPointer, finish: Bool,
                  into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let flush = finish ? Z_FINISH : Z_NO_FLUSH
        stream.pointee.next_in = UnsafeMutablePointer(
            mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        let capacity = output.count
        try output.withUnsafeMutableBytes { out in
            let base = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
            while true {
                stream.pointee.next_out = base
                stream.pointee.avail_out = uInt(capacity)
                let status = deflate(stream, flush)
                guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                    throw ZlibStatus(code: status)
                }
                let produced = capacity - Int(stream.pointee.avail_out)
                if produced > 0 {
                    try sink(UnsafeRawBufferPointer(start: out.baseAddress, count: produced))
                }
                if finish {
                    if status == Z_STREAM_END { break }
                } else if stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 {
                    break
                }
            }
        }
        stream.pointee.next_in = nil
    }

    /// Runs deflate with `flush` and no new input until zlib leaves output space unused (it
    /// has nothing left to write).
    private func drain(_ flush: Int32, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let capacity = output.count
        try output.withUnsafeMutableBytes { out in
            let base = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
            while true {
                stream.pointee.next_out = base
                stream.pointee.avail_out = uInt(capacity)
                let status = deflate(stream, flush)
                guard status == Z_OK || status == Z_BUF_ERROR else { throw ZlibStatus(code: status) }
                let produced = capacity - Int(stream.pointee.avail_out)
                if produced > 0 { try sink(UnsafeRawBufferPointer(start: out.baseAddress, count: produced)) }
                if stream.pointee.avail_out != 0 { break }
            }
        }
    }

    /// Changes the compression level mid-stream. Everything fed so far is first flushed to a
    /// block boundary (`Z_BLOCK`) at the old level, so the new level applies exactly to the
    /// bytes fed after this call; the window (history) is kept. Costs a few bytes per switch.
    func setLevel(_ level: Int32, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try drain(Z_BLOCK, into: sink)
        let capacity = output.count
        try output.withUnsafeMutableBytes { out in
            let base = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
            while true {
                stream.pointee.next_out = base
                stream.pointee.avail_out = uInt(capacity)
                let status = deflateParams(stream, level, Z_DEFAULT_STRATEGY)
                let produced = capacity - Int(stream.pointee.avail_out)
                if produced > 0 { try sink(UnsafeRawBufferPointer(start: out.baseAddress, count: produced)) }
                if status == Z_OK { break }
                guard status == Z_BUF_ERROR, produced > 0 else { throw ZlibStatus(code: status) }
            }
        }
    }

    /// Compresses a whole buffer into a new array (small objects, samples).
    func compressAll(_ input: UnsafeRawBufferPointer) throws -> [UInt8] {
        reset()
        var result = [UInt8]()
        result.reserveCapacity(input.count / 2 + 64)
        try compress(input, finish: true) { result.append(contentsOf: $0) }
        return result
    }
}

/// A reusable zlib (RFC 1950) decompressor that refuses trailing garbage and truncation.
final class Inflater {
    fileprivate let stream: UnsafeMutablePointer<z_stream>
    private var output: [UInt8]
    fileprivate(set) var finished = false

    init(outputCapacity: Int = 256 * 1024) {
        stream = newStream { satchel_inflateInit2($0, 15) }
        output = [UInt8](repeating: 0, count: outputCapacity)
    }

    deinit { freeStream(stream, inflateEnd) }

    func reset() {
        inflateReset(stream)
        finished = false
    }

    /// Feeds compressed bytes; decompressed output goes to `sink`. Returns how many input
    /// bytes were consumed (less than all only when the stream ended inside `input`).
    @discardableResult
    func decompress(_ input: UnsafeRawBufferPointer,
                    into sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        if input.isEmpty || finished { return 0 }
        stream.pointee.next_in = UnsafeMutablePointer(
            mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        let capacity = output.count
        try output.withUnsafeMutableBytes { out in
            let base = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
            while true {
                stream.pointee.next_out = base
                stream.pointee.avail_out = uInt(capacity)
                let status = inflate(stream, Z_NO_FLUSH)
                let produced = capacity - Int(stream.pointee.avail_out)
                if produced > 0 {
                    try sink(UnsafeRawBufferPointer(start: out.baseAddress, count: produced))
                }
                if status == Z_STREAM_END {
                    finished = true
                    break
                }
                if status == Z_BUF_ERROR && stream.pointee.avail_in == 0 { break }
                guard status == Z_OK else { throw ZlibStatus(code: status) }
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 { break }
            }
        }
        let consumed = input.count - Int(stream.pointee.avail_in)
        stream.pointee.next_in = nil
        return consumed
    }
}

extension Inflater {
    /// One pull step: inflates from `input` into `output` until one of them is used up or the
    /// stream ends. Returns bytes consumed and produced. Throws on a damaged stream.
    func step(_ input: UnsafeRawBufferPointer,
              into output: UnsafeMutableRawBufferPointer) throws -> (consumed: Int, produced: Int) {
        if finished || output.isEmpty { return (0, 0) }
        stream.pointee.next_in = UnsafeMutablePointer(
            mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        let status = inflate(stream, Z_NO_FLUSH)
        let consumed = input.count - Int(stream.pointee.avail_in)
        let produced = output.count - Int(stream.pointee.avail_out)
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil
        if status == Z_STREAM_END {
            finished = true
        } else if !(status == Z_OK || (status == Z_BUF_ERROR && consumed == 0 && produced == 0)) {
            throw ZlibStatus(code: status)
        }
        return (consumed, produced)
    }
}

/// A streaming zlib (RFC 1950) compressor that hands its output to a closure: for writing one
/// large compressed stream (a bundle) in bounded memory. The level can change mid-stream
/// (``setLevel(_:)``), e.g. to 0 around data that is compressed already.
public final class DeflateSink {
    private let deflater: Deflater
    private let output: (UnsafeRawBufferPointer) throws -> Void
    /// The current zlib level (0 = store).
    public private(set) var level: Int32
    private var finished = false

    /// Starts a stream at `level`; compressed bytes go to `output` as they are produced.
    public init(level: Int32 = 6, output: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.level = level
        deflater = Deflater(level: level)
        self.output = output
    }

    /// Compresses `bytes` at the current level.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "DeflateSink used after finish")
        guard !bytes.isEmpty else { return }
        try deflater.compress(bytes, finish: false, into: output)
    }

    /// Compresses `bytes` at the current level.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Switches to `level` (0 = store) for the bytes written from now on.
    public func setLevel(_ level: Int32) throws {
        guard level != self.level else { return }
        try deflater.setLevel(level, into: output)
        self.level = level
    }

    /// Ends the stream (writes the final block and the Adler-32 trailer).
    public func finish() throws {
        precondition(!finished, "DeflateSink finished twice")
        finished = true
        try deflater.compress(UnsafeRawBufferPointer(start: nil, count: 0), finish: true, into: output)
    }
}

/// A ``ByteSource`` that inflates one zlib (RFC 1950) stream pulled from another source, in
/// bounded memory. `read` returns 0 exactly at the end of the compressed stream; a source that
/// ends first is `.truncated`, a damaged stream `.corrupt`. ``finish()`` checks that nothing
/// follows the stream.
public final class InflatingSource: ByteSource {
    private var source: any ByteSource
    private let inflater = Inflater(outputCapacity: 1)
    private var input: [UInt8]
    private var inputStart = 0
    private var inputEnd = 0
    private var sourceEnded = false
    /// Uncompressed bytes produced so far.
    public private(set) var produced: UInt64 = 0

    /// Inflates the stream read from `source`, pulling `bufferSize` bytes at a time.
    public init(source: any ByteSource, bufferSize: Int = 64 * 1024) {
        self.source = source
        input = [UInt8](repeating: 0, count: max(bufferSize, 1024))
    }

    /// True once the end of the zlib stream has been read.
    public var ended: Bool { inflater.finished }

    private func refill() throws {
        inputStart = 0
        inputEnd = 0
        guard !sourceEnded else { return }
        let n = try input.withUnsafeMutableBytes { try source.read(into: $0) }
        if n == 0 { sourceEnded = true }
        inputEnd = n
    }

    /// Fills `buffer` with inflated bytes; 0 at the end of the stream.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !buffer.isEmpty else { return 0 }
        while !inflater.finished {
            if inputStart == inputEnd { try refill() }
            if inputStart == inputEnd && sourceEnded {
                throw StoreError(.truncated, "compressed stream ends early")
            }
            let (consumed, made): (Int, Int)
            do {
                (consumed, made) = try input.withUnsafeBytes { raw in
                    try inflater.step(UnsafeRawBufferPointer(rebasing: raw[inputStart..<inputEnd]), into: buffer)
                }
            } catch is ZlibStatus {
                throw StoreError(.corrupt, "compressed stream is damaged")
            }
            inputStart += consumed
            if made > 0 {
                produced += UInt64(made)
                return made
            }
            if consumed == 0 && !inflater.finished {
                throw StoreError(.corrupt, "compressed stream is damaged (no progress)")
            }
        }
        return 0
    }

    /// Confirms the stream ended and that its source holds nothing after it.
    public func finish() throws {
        var probe: UInt8 = 0
        if try withUnsafeMutableBytes(of: &probe, { try read(into: $0) }) != 0 {
            throw StoreError(.corrupt, "compressed stream holds more than expected")
        }
        if inputStart < inputEnd { throw StoreError(.corrupt, "bytes follow the end of the compressed stream") }
        if !sourceEnded {
            let n = try withUnsafeMutableBytes(of: &probe) { try source.read(into: $0) }
            if n != 0 { throw StoreError(.corrupt, "bytes follow the end of the compressed stream") }
            sourceEnded = true
        }
    }
}

/// CRC-32 (zlib's), used as the per-entry checksum in pack indexes.
enum CRC32 {
    static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return crc }
        var result = UInt(crc)
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, Int(Int32.max))
            result = crc32(result, base.advanced(by: offset).assumingMemoryBound(to: Bytef.self),
                           uInt(n))
            offset += n
        }
        return UInt32(truncatingIfNeeded: result)
    }
}

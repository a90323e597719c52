import CZlib

// The one file in Satchel that touches zlib. Everything else sees `Deflater`, `Inflater`
// and `CRC32`.

/// A zlib failure, carrying zlib's status code.
struct ZlibStatus: Error, Sendable, CustomStringConvertible {
    var code: Int32
    var description: String { "zlib status \(code)" }
}

/// A reusable zlib (RFC 1950) compressor. `reset()` between objects instead of a new
/// instance: init+end per object is ~3.5× slower for small objects.
final class Deflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private var output: [UInt8]

    init(level: Int32 = 1, outputCapacity: Int = 256 * 1024) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        output = [UInt8](repeating: 0, count: outputCapacity)
        let status = satchel_deflateInit2(stream, level, 15)
        precondition(status == Z_OK, "deflateInit2 failed with \(status): out of memory")
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

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
    private let stream: UnsafeMutablePointer<z_stream>
    private var output: [UInt8]
    private(set) var finished = false

    init(outputCapacity: Int = 256 * 1024) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        output = [UInt8](repeating: 0, count: outputCapacity)
        let status = satchel_inflateInit2(stream, 15)
        precondition(status == Z_OK, "inflateInit2 failed with \(status): out of memory")
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

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

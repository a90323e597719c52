/// Streams a payload from a ``ByteSource`` through hashing and (optionally) deflate, emitting
/// encoded bytes. Shared by loose objects and pack entries; one instance is reused across
/// objects so zlib state and buffers are allocated once.
final class PayloadEncoder {
    static let chunkSize = 1 << 20

    let policy: CompressionPolicy
    private let deflater: Deflater
    private var buffer: [UInt8]

    /// `expectedLength`: when known and small, buffers are sized to it (a put of a 2 KiB manifest
    /// should not zero 1.25 MiB of buffers).
    init(policy: CompressionPolicy, expectedLength: UInt64? = nil) {
        self.policy = policy
        let size = expectedLength.map { Int(min(UInt64(Self.chunkSize), max($0 + 1, 4096))) } ?? Self.chunkSize
        deflater = Deflater(level: policy.level, outputCapacity: min(256 * 1024, max(size, 4096)))
        buffer = [UInt8](repeating: 0, count: size)
    }

    /// Reads exactly `length` bytes from `source` (more or fewer is an error), hashes them as
    /// an object of `kind`, and emits the encoding.
    ///
    /// - `begin(compressed)` is called once, before any encoded byte, with the decision.
    /// - With `headerInStream`, the object header is part of the encoded stream (loose objects);
    ///   otherwise only the payload is (pack entries carry kind and length themselves).
    /// - `knownID`: the bytes are hashed elsewhere already (a batch hashes in-memory payloads
    ///   once, to skip duplicates; a pack stream reader hashes each entry it yields); they are
    ///   not hashed again, and what `knownID` returns after the last byte is the ID.
    func encode(kind: ObjectKind, length: UInt64, source: inout some ByteSource,
                headerInStream: Bool, forceStored: Bool = false, knownID: (() throws -> ObjectID)? = nil,
                begin: (_ compressed: Bool) throws -> Void,
                emit: (UnsafeRawBufferPointer) throws -> Void) throws -> ObjectID {
        var hasher: ObjectHasher? = knownID == nil ? ObjectHasher(kind: kind, length: length) : nil
        let firstWant = Int(min(UInt64(buffer.count), length))
        var filled = try buffer.withUnsafeMutableBytes { raw in
            try Self.fill(&source, UnsafeMutableRawBufferPointer(rebasing: raw[0..<firstWant]))
        }
        let header = kind.header(length: length)
        if UInt64(filled) == length && filled <= policy.sampleLength {
            // Small payload, all in hand: compress exactly what would be written once, and keep
            // that result if it pays off (no separate probe pass).
            try encodeWhole(header: header, count: filled, hasher: &hasher, source: &source,
                            headerInStream: headerInStream, forceStored: forceStored, begin: begin, emit: emit)
            return try knownID?() ?? hasher!.finalize()
        }
        let compressed = !forceStored && buffer.withUnsafeBytes { raw in
            policy.shouldCompress(sample: UnsafeRawBufferPointer(rebasing: raw[0..<filled]),
                                  totalLength: length, scratch: deflater)
        }
        try begin(compressed)
        deflater.reset()
        if headerInStream {
            try header.withUnsafeBytes { h in
                if compressed { try deflater.compress(h, finish: false, into: emit) } else { try emit(h) }
            }
        }
        var total: UInt64 = 0
        while true {
            if filled > 0 {
                try buffer.withUnsafeBytes { raw in
                    let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<filled])
                    hasher?.update(chunk)
                    if compressed { try deflater.compress(chunk, finish: false, into: emit) } else { try emit(chunk) }
                }
                total += UInt64(filled)
            }
            if total >= length { break }
            let want = Int(min(UInt64(buffer.count), length - total))
            filled = try buffer.withUnsafeMutableBytes { raw in
                try Self.fill(&source, UnsafeMutableRawBufferPointer(rebasing: raw[0..<want]))
            }
            if filled == 0 {
                throw StoreError(.invalidArgument,
                                 "input ended after \(total) of \(length) bytes (was it changed while being read?)")
            }
        }
        try Self.expectEnd(&source, after: length)
        if compressed {
            try deflater.compress(UnsafeRawBufferPointer(start: nil, count: 0), finish: true, into: emit)
        }
        return try knownID?() ?? hasher!.finalize()
    }

    /// The single-pass path for payloads that fit in the first buffer.
    private func encodeWhole(header: [UInt8], count: Int, hasher: inout ObjectHasher?, source: inout some ByteSource,
                             headerInStream: Bool, forceStored: Bool,
                             begin: (_ compressed: Bool) throws -> Void,
                             emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        try Self.expectEnd(&source, after: UInt64(count))
        var input = headerInStream ? header : []
        input.reserveCapacity(input.count + count)
        buffer.withUnsafeBytes { raw in
            let payload = UnsafeRawBufferPointer(rebasing: raw[0..<count])
            hasher?.update(payload)
            input.append(contentsOf: payload)
        }
        var worthIt = false
        var compressedBytes: [UInt8] = []
        let payloadView = buffer.withUnsafeBytes { raw in UnsafeRawBufferPointer(rebasing: raw[0..<count]) }
        if !forceStored && count >= policy.minimumLength && !CompressionPolicy.hasCompressedMagic(payloadView) {
            compressedBytes = try input.withUnsafeBytes { try deflater.compressAll($0) }
            worthIt = Double(compressedBytes.count) < Double(input.count) * policy.incompressibleRatio
        }
        try begin(worthIt)
        try (worthIt ? compressedBytes : input).withUnsafeBytes { try emit($0) }
    }

    /// The source must end where the declared length says.
    static func expectEnd(_ source: inout some ByteSource, after length: UInt64) throws {
        var probe: UInt8 = 0
        let extra = try withUnsafeMutableBytes(of: &probe) { try source.read(into: $0) }
        if extra != 0 {
            throw StoreError(.invalidArgument,
                             "input is longer than its declared \(length) bytes (was it changed while being read?)")
        }
    }

    /// Reads until `buffer` is full or the source ends.
    static func fill(_ source: inout some ByteSource, _ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var total = 0
        while total < buffer.count {
            let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[total...]))
            if n == 0 { break }
            total += n
        }
        return total
    }
}

/// Checks a decoded object stream as it flows: parses the `"<kind> <length>\0"` header when
/// it is part of the stream, hashes the payload, passes payload bytes on, and at the end
/// confirms length and ID.
struct ObjectStreamDecoder {
    static let maxHeaderLength = 40

    private(set) var kind: ObjectKind?
    private(set) var length: UInt64 = 0
    private var header: [UInt8] = []
    private var hasher: ObjectHasher?

    /// For streams that start with the header (loose objects).
    init() {}

    /// For streams of payload only (pack entries).
    init(kind: ObjectKind, length: UInt64) {
        self.kind = kind
        self.length = length
        hasher = ObjectHasher(kind: kind, length: length)
    }

    mutating func feed(_ bytes: UnsafeRawBufferPointer,
                       payload sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var rest = bytes
        if hasher == nil {
            guard let nul = rest.firstIndex(of: 0) else {
                header.append(contentsOf: rest)
                if header.count > Self.maxHeaderLength { throw Self.corrupt("object header is too long") }
                return
            }
            header.append(contentsOf: rest[rest.startIndex..<nul])
            rest = UnsafeRawBufferPointer(rebasing: rest[(nul + 1)...])
            try parseHeader()
        }
        guard !rest.isEmpty else { return }
        guard hasher!.consumed + UInt64(rest.count) <= length else {
            throw Self.corrupt("object is longer than its header says (\(length) bytes)")
        }
        hasher!.update(rest)
        try sink(rest)
    }

    private mutating func parseHeader() throws {
        guard let space = header.firstIndex(of: 0x20),
              let kind = ObjectKind(name: String(decoding: header[..<space], as: UTF8.self)) else {
            throw Self.corrupt("object header has no known kind")
        }
        let digits = header[(space + 1)...]
        guard !digits.isEmpty, digits.count <= 20, digits.allSatisfy({ (0x30...0x39).contains($0) }),
              digits.count == 1 || digits.first != 0x30,
              let length = UInt64(String(decoding: digits, as: UTF8.self)) else {
            throw Self.corrupt("object header has a malformed length")
        }
        self.kind = kind
        self.length = length
        hasher = ObjectHasher(kind: kind, length: length)
    }

    /// Confirms the stream was complete; returns the ID its content hashes to.
    func finish() throws -> (kind: ObjectKind, length: UInt64, id: ObjectID) {
        guard let hasher, let kind else { throw StoreError(.truncated, "object is truncated inside its header") }
        guard hasher.consumed == length else {
            throw StoreError(.truncated, "object is truncated: \(hasher.consumed) of \(length) payload bytes")
        }
        return (kind, length, hasher.finalize())
    }

    static func corrupt(_ message: String) -> StoreError { StoreError(.corrupt, message) }
}

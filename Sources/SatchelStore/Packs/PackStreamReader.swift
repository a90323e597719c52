import Crypto
import SystemPackage

/// An object's payload with the ID it hashed to, as read from a pack stream: only the store
/// makes one, so a batch can adopt the ID without hashing the bytes again.
public struct VerifiedPayload: Sendable {
    /// The object's kind.
    public let kind: ObjectKind
    /// The payload.
    public let bytes: [UInt8]
    /// The ID these bytes hash to as an object of `kind`.
    public let id: ObjectID

    init(kind: ObjectKind, bytes: [UInt8], id: ObjectID) {
        self.kind = kind
        self.bytes = bytes
        self.id = id
    }
}

/// Reads a pack sequentially from a byte range of a file, without its index: the form a pack
/// takes inside a bundle or an archive. Entries are decoded and hashed as they stream, in
/// bounded memory; the trailer's count and checksum are checked at the end.
///
/// Usage: `while let entry = try reader.next() { read payload with read(into:) until 0 }`,
/// then `try reader.finish()`.
public final class PackStreamReader: ByteSource {
    private enum Input {
        case file(FileDescriptor)
        case stream(any ByteSource)
    }
    private var inputSource: Input
    private var position: Int64
    private let end: Int64
    private var input: [UInt8]
    private var inputStart = 0
    private var inputEnd = 0
    private var sha = SHA256()
    private let inflater = Inflater(outputCapacity: 1)
    /// Which entry encodings the pack may use; others are refused at the entry header, before
    /// a byte of the entry is inflated.
    private let encodings: Encodings
    /// The most payload bytes all entries together may declare (nil: no limit).
    private let payloadLimit: UInt64?
    private var declared: UInt64 = 0

    /// Which entry encodings a pack stream may hold.
    public enum Encodings: Sendable {
        /// Stored and zlib entries of any kind (a store's packs, archives).
        case any
        /// Stored entries only.
        case storedOnly
        /// Stored entries, and zlib entries of blobs (bundles with `zlib-blobs-1`: a large
        /// blob as the sender's store holds it).
        case storedAndZlibBlobs
    }

    private var current: (kind: ObjectKind, length: UInt64, compressed: Bool)?
    private var remaining: UInt64 = 0
    private var hasher: ObjectHasher?
    /// Entries read so far.
    public private(set) var count: UInt64 = 0
    /// While set, every encoded byte of a zlib entry is handed to it as the reader consumes it
    /// (the entry's zlib stream, exactly, once the entry was read to its end): a batch keeps
    /// the stream as it came while the reader inflates and hashes it to verify it.
    var compressedTap: ((UnsafeRawBufferPointer) throws -> Void)?
    /// Whether the current entry is zlib-encoded.
    public var entryIsCompressed: Bool { current?.compressed ?? false }
    private var started = false

    /// Reads the pack stored in `fd` from `offset` up to (not including) `end`.
    /// An entry of an encoding `encodings` does not allow is refused as `.corrupt`.
    public init(fd: FileDescriptor, offset: Int64, end: Int64, encodings: Encodings = .any) {
        self.encodings = encodings
        payloadLimit = nil
        inputSource = .file(fd)
        position = offset
        self.end = end
        input = [UInt8](repeating: 0, count: 256 * 1024)
    }

    /// Reads a pack of exactly `length` bytes pulled sequentially from `source` (a decrypting
    /// stream, for example). The length must be known so the trailer can be found.
    /// `payloadLimit` bounds the payload bytes all entries may declare together: a small input
    /// that would inflate to far more than any honest writer makes (nested compression) is
    /// refused at the entry header that crosses it, as `.tooLarge`.
    public init(source: any ByteSource, length: Int64, encodings: Encodings = .any, payloadLimit: UInt64? = nil) {
        self.encodings = encodings
        self.payloadLimit = payloadLimit
        inputSource = .stream(source)
        position = 0
        end = length
        input = [UInt8](repeating: 0, count: 256 * 1024)
    }

    // MARK: Raw input

    private func fillInput() throws {
        if inputStart == inputEnd {
            inputStart = 0
            inputEnd = 0
        }
        guard position < end, inputEnd < input.count else { return }
        let want = Int(min(Int64(input.count - inputEnd), end - position))
        let at = position
        let n = try input.withUnsafeMutableBytes { raw in
            let target = UnsafeMutableRawBufferPointer(rebasing: raw[inputEnd..<(inputEnd + want)])
            switch inputSource {
            case .file(let fd):
                return try fd.read(fromAbsoluteOffset: at, into: target)
            case .stream(var source):
                defer { inputSource = .stream(source) }
                return try source.read(into: target)
            }
        }
        if n == 0 { throw StoreError(.truncated, "pack stream ends early") }
        position += Int64(n)
        inputEnd += n
    }

    /// Takes exactly `n` raw bytes (n small), feeding the pack checksum.
    private func take(_ n: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        while out.count < n {
            if inputStart == inputEnd { try fillInput() }
            guard inputStart < inputEnd else { throw StoreError(.truncated, "pack stream ends early") }
            let k = min(n - out.count, inputEnd - inputStart)
            let slice = input[inputStart..<(inputStart + k)]
            out.append(contentsOf: slice)
            input.withUnsafeBytes { sha.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[inputStart..<(inputStart + k)])) }
            inputStart += k
        }
        return out
    }

    private var rawBytesLeft: Int64 { end - position + Int64(inputEnd - inputStart) }

    // MARK: Entries

    /// Moves to the next entry; nil when only the trailer is left.
    public func next() throws -> (kind: ObjectKind, length: UInt64)? {
        if !started {
            started = true
            let header = try take(PackFormat.headerSize)
            try header.withUnsafeBytes { try PackFormat.checkHeader($0, magic: PackFormat.packMagic, what: "pack") }
        }
        if current != nil {
            // Drain what the caller did not read, so the entry is fully checked.
            var scratch = [UInt8](repeating: 0, count: 64 * 1024)
            while try scratch.withUnsafeMutableBytes({ try read(into: $0) }) > 0 {}
        }
        guard rawBytesLeft > Int64(PackFormat.trailerSize) else { return nil }
        let header = try take(PackFormat.entryHeaderSize)
        guard let kind = ObjectKind(rawValue: header[0]),
              header[1] == PackFormat.encodingStored || header[1] == PackFormat.encodingZlib else {
            throw StoreError(.corrupt, "pack entry \(count + 1) has a damaged header")
        }
        let length = header.withUnsafeBytes { PackFormat.readUInt64($0, at: 2) }
        let compressed = header[1] == PackFormat.encodingZlib
        switch (encodings, compressed) {
        case (.storedOnly, true):
            throw StoreError(.corrupt, "pack entry \(count + 1) is zlib-encoded where the format allows stored entries only")
        case (.storedAndZlibBlobs, true) where kind != .blob:
            throw StoreError(.corrupt, "pack entry \(count + 1) is a zlib-encoded \(kind) where the format allows zlib for blobs only")
        default: break
        }
        if let payloadLimit {
            let (total, overflow) = declared.addingReportingOverflow(length)
            guard !overflow, total <= payloadLimit else {
                throw StoreError(.tooLarge, "pack entries declare more than \(payloadLimit) payload bytes, more than this input can honestly hold")
            }
            declared = total
        }
        // A stored entry cannot be longer than the bytes left before the trailer.
        if !compressed && length > UInt64(max(0, rawBytesLeft - Int64(PackFormat.trailerSize))) {
            throw StoreError(.corrupt, "pack entry \(count + 1) declares \(length) bytes, more than the pack holds")
        }
        current = (kind, length, compressed)
        remaining = length
        hasher = ObjectHasher(kind: kind, length: length)
        if compressed { inflater.reset() }
        count += 1
        return (kind, length)
    }

    /// Reads payload bytes of the current entry (0 at its end).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let entry = current, !buffer.isEmpty else { return 0 }
        if remaining == 0 {
            try endEntry(entry)
            return 0
        }
        var produced = 0
        if entry.compressed {
            // Inflate straight into the caller's buffer, never more than the entry declares:
            // memory stays flat whatever the stream would expand to.
            let limit = Int(min(UInt64(buffer.count), remaining))
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<limit])
            while produced == 0 {
                guard !inflater.finished else { throw StoreError(.corrupt, "pack entry \(count) is shorter than its header says") }
                let step = try inflateStep(into: target)
                produced = step.produced
                if step.consumed == 0 && step.produced == 0 && !inflater.finished {
                    throw StoreError(.corrupt, "pack entry \(count) has a damaged zlib stream (no progress)")
                }
            }
        } else {
            if inputStart == inputEnd { try fillInput() }
            guard inputStart < inputEnd else { throw StoreError(.truncated, "pack stream ends inside entry \(count)") }
            let k = min(buffer.count, inputEnd - inputStart, Int(min(remaining, UInt64(Int.max))))
            input.withUnsafeBytes { src in
                buffer.baseAddress!.copyMemory(from: src.baseAddress! + inputStart, byteCount: k)
                sha.update(bufferPointer: UnsafeRawBufferPointer(rebasing: src[inputStart..<(inputStart + k)]))
            }
            inputStart += k
            produced = k
        }
        guard UInt64(produced) <= remaining else { throw StoreError(.corrupt, "pack entry \(count) is longer than its header says") }
        remaining -= UInt64(produced)
        hasher!.update(UnsafeRawBufferPointer(start: buffer.baseAddress, count: produced))
        return produced
    }

    /// The ID of the entry just read completely (valid after `read` returned 0).
    public private(set) var lastID: ObjectID?

    /// Reads the rest of the current entry into memory (at most `limit` bytes, else
    /// `.tooLarge` before anything is read) and returns it with the ID it hashed to on the way:
    /// the one hash a received object needs (``ObjectBatch/put(_:)-(VerifiedPayload)`` adopts it).
    public func readEntry(limit: UInt64) throws -> VerifiedPayload {
        guard let entry = current else { throw StoreError(.invalidArgument, "no pack entry is being read") }
        guard remaining <= limit else {
            throw StoreError(.tooLarge, "pack entry \(count) holds \(remaining) bytes, over the limit of \(limit)")
        }
        var bytes = [UInt8](repeating: 0, count: Int(remaining))
        var filled = 0
        while filled < bytes.count {
            let n = try bytes.withUnsafeMutableBytes { try read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
            guard n > 0 else { throw StoreError(.truncated, "pack entry \(count) ends early") }
            filled += n
        }
        var probe: UInt8 = 0
        let extra = try withUnsafeMutableBytes(of: &probe) { try read(into: $0) }
        guard extra == 0, let id = lastID else { throw StoreError(.corrupt, "pack entry \(count) does not end where its header says") }
        return VerifiedPayload(kind: entry.kind, bytes: bytes, id: id)
    }

    /// One inflate step of the current entry into `target`, from the buffered input (refilled
    /// when empty); the consumed input goes into the pack checksum.
    private func inflateStep(into target: UnsafeMutableRawBufferPointer) throws -> (consumed: Int, produced: Int) {
        if inputStart == inputEnd { try fillInput() }
        guard inputStart < inputEnd else { throw StoreError(.truncated, "pack stream ends inside entry \(count)") }
        let start = inputStart
        let step: (consumed: Int, produced: Int)
        do {
            step = try input.withUnsafeBytes { raw in
                try inflater.step(UnsafeRawBufferPointer(rebasing: raw[inputStart..<inputEnd]), into: target)
            }
        } catch is ZlibStatus {
            throw StoreError(.corrupt, "pack entry \(count) has a damaged zlib stream")
        }
        try input.withUnsafeBytes {
            let consumed = UnsafeRawBufferPointer(rebasing: $0[start..<(start + step.consumed)])
            sha.update(bufferPointer: consumed)
            try compressedTap?(consumed)
        }
        inputStart += step.consumed
        return step
    }

    private func endEntry(_ entry: (kind: ObjectKind, length: UInt64, compressed: Bool)) throws {
        if entry.compressed {
            // The zlib stream must end exactly here: one byte more of output is refused.
            var probe: UInt8 = 0
            while !inflater.finished {
                let step = try withUnsafeMutableBytes(of: &probe) { try inflateStep(into: $0) }
                if step.produced > 0 {
                    throw StoreError(.corrupt, "pack entry \(count) is longer than its header says")
                }
                if step.consumed == 0 && !inflater.finished {
                    throw StoreError(.corrupt, "pack entry \(count) has a damaged zlib stream (no progress)")
                }
            }
        }
        lastID = hasher?.finalize()
        current = nil
        hasher = nil
    }

    /// Checks the trailer: entry count and the SHA-256 of the whole pack.
    public func finish() throws {
        if current != nil || !started { while try next() != nil {} }
        guard rawBytesLeft == Int64(PackFormat.trailerSize) else {
            throw StoreError(.corrupt, "pack trailer is damaged (\(rawBytesLeft) bytes where 40 belong)")
        }
        let countBytes = try take(8)  // part of what the checksum covers
        let expected = Array(sha.finalize())
        let checksum = try take(32)
        let declared = countBytes.withUnsafeBytes { PackFormat.readUInt64($0, at: 0) }
        guard declared == count else {
            throw StoreError(.corrupt, "pack declares \(declared) objects but holds \(count)")
        }
        guard checksum == expected else {
            throw StoreError(.corrupt, "pack checksum does not match (damaged or tampered)")
        }
    }
}

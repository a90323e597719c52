import Crypto

/// Writes a pack (no index) as one stream of bytes handed to `emit`: the form a pack takes
/// inside a bundle (docs/FORMAT.md, "Bundles"), written straight from the store, each object
/// read, verified and copied once, with no temporary pack. Entries are stored, except those
/// copied as the store holds them (``add(_:from:)``: a zlib entry, CRC-checked).
///
/// The size of the whole pack is known before its first byte (``size(ofPayloads:packed:)``),
/// so a container can declare it up front; every payload must then have exactly its declared
/// length.
public final class PackStreamWriter {
    private let emit: (UnsafeRawBufferPointer) throws -> Void
    private var sha = SHA256()
    private var entries: UInt64 = 0
    private var started = false
    private var finished = false

    /// A pack stream whose bytes go to `emit` as they are produced.
    public init(emit: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.emit = emit
    }

    /// The size of a pack of stored entries with these payload lengths plus the `packed`
    /// entries copied as they are; nil if it would not fit in 64 bits.
    public static func size(ofPayloads lengths: some Sequence<UInt64>, packed: [PackedEntry] = []) -> UInt64? {
        var total = UInt64(PackFormat.headerSize + PackFormat.trailerSize)
        func add(_ bytes: UInt64) -> Bool {
            let (sum, overflow) = total.addingReportingOverflow(bytes)
            total = sum
            return !overflow
        }
        for length in lengths {
            let (entry, overflow) = length.addingReportingOverflow(UInt64(PackFormat.entryHeaderSize))
            guard !overflow, add(entry) else { return nil }
        }
        for entry in packed {
            guard add(entry.size) else { return nil }
        }
        return total
    }

    private func write(_ bytes: UnsafeRawBufferPointer) throws {
        sha.update(bufferPointer: bytes)
        try emit(bytes)
    }

    private func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    private func start() throws {
        precondition(!finished, "PackStreamWriter used after finish")
        if !started {
            started = true
            try write(PackFormat.header(magic: PackFormat.packMagic))
        }
    }

    private func begin(_ kind: ObjectKind, length: UInt64) throws {
        try start()
        try write(PackFormat.entryHeader(kind: kind, compressed: false, length: length))
        entries += 1
    }

    /// Adds a zlib entry of `store` as the store holds it (header and zlib stream, CRC-checked
    /// on the way; not inflated: the reader verifies the object).
    public func add(_ entry: PackedEntry, from store: ObjectStore) throws {
        try start()
        entries += 1
        try store.copy(entry) { try write($0) }
    }

    /// Adds an in-memory payload as a stored entry.
    public func add(_ kind: ObjectKind, _ bytes: [UInt8]) throws {
        try begin(kind, length: UInt64(bytes.count))
        try write(bytes)
    }

    /// Adds object `id` of `store` as a stored entry of `length` bytes, streamed from the store
    /// and verified on the way (a damaged or different object throws; the stream is then unusable).
    /// `payload` is told when the payload starts, with its first bytes (to pick a compression
    /// level for what follows), and again with nil when it has ended.
    public func add(_ id: ObjectID, kind: ObjectKind, length: UInt64, from store: ObjectStore,
                    payload: (_ firstBytes: UnsafeRawBufferPointer?) throws -> Void = { _ in }) throws {
        try begin(kind, length: length)
        var written: UInt64 = 0
        let found = try store.read(id) { chunk in
            if written == 0 && !chunk.isEmpty { try payload(chunk) }
            written += UInt64(chunk.count)
            guard written <= length else {
                throw StoreError(.corrupt, "object \(id.short) is longer than the \(length) bytes declared for it", object: id)
            }
            try write(chunk)
        }
        guard found.kind == kind, found.length == length, written == length else {
            throw StoreError(.corrupt, "object \(id.short) is not the \(length)-byte \(kind) declared for it", object: id)
        }
        if written > 0 { try payload(nil) }
    }

    /// Writes the trailer (entry count, SHA-256 of everything before it).
    public func finish() throws {
        try start()
        finished = true
        var count: [UInt8] = []
        PackFormat.appendUInt64(&count, entries)
        try write(count)
        let digest = Array(sha.finalize())
        try digest.withUnsafeBytes { try emit($0) }
    }
}

import Crypto
import SystemPackage

/// Writes many objects into one pack file plus its index, with one durability barrier for all
/// of them (git fast-import's approach). The pack is built in `tmp/` and renamed into `packs/`
/// at ``finish(into:durable:)``, pack first and index last, so readers (who look for indexes)
/// never see a half-written pack.
final class PackWriter {
    private let tempDirectory: String
    private let encoder: PayloadEncoder
    private let tempPack: String
    private let fd: FileDescriptor
    private var output: OutputBuffer
    private var packHash = SHA256()
    private var offset: UInt64 = 0
    private var entries: [PackEntryLocation] = []
    private var known: Set<ObjectID> = []
    private var closed = false
    /// Sum of the payload lengths of the objects added.
    private(set) var payloadBytes: UInt64 = 0

    init(tempDirectory: String, policy: CompressionPolicy) throws {
        self.tempDirectory = tempDirectory
        encoder = PayloadEncoder(policy: policy)
        tempPack = tempDirectory + "/pack-" + Sys.randomToken() + ".tmp"
        do { fd = try FileIO.createExclusive(tempPack) } catch {
            throw StoreError.io(error, path: tempPack, "cannot create a temporary pack")
        }
        output = OutputBuffer(fd: fd, path: tempPack)
        try write(PackFormat.header(magic: PackFormat.packMagic))
    }

    deinit { abandon() }

    var count: Int { entries.count }
    func contains(_ id: ObjectID) -> Bool { known.contains(id) }
    var objectIDs: Set<ObjectID> { known }

    private func write(_ bytes: UnsafeRawBufferPointer) throws {
        packHash.update(bufferPointer: bytes)
        offset += UInt64(bytes.count)
        try output.append(bytes)
    }

    private func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Adds a streamed object. `skip` is asked once the ID is known: return true when the
    /// object is already stored elsewhere, and the entry is taken back out of the pack.
    /// Returns the ID and whether it was added here.
    @discardableResult
    func add(kind: ObjectKind, length: UInt64, source: inout some ByteSource, knownID: (() throws -> ObjectID)? = nil,
             skip: (ObjectID) -> Bool = { _ in false }) throws -> (id: ObjectID, added: Bool) {
        precondition(!closed, "PackWriter used after finish")
        let start = offset
        let hashBefore = packHash
        var crc: UInt32 = 0
        let id = try encoder.encode(
            kind: kind, length: length, source: &source, headerInStream: false, knownID: knownID,
            begin: { compressed in
                let header = PackFormat.entryHeader(kind: kind, compressed: compressed, length: length)
                crc = header.withUnsafeBytes { CRC32.update(crc, $0) }
                try write(header)
            },
            emit: { bytes in
                crc = CRC32.update(crc, bytes)
                try write(bytes)
            })
        return try record(id, start: start, hashBefore: hashBefore, length: length, crc: crc, skip: skip)
    }

    /// Keeps the entry just written from `start` as `id`, or takes it back out when it is a
    /// duplicate or `skip` says the store has it.
    private func record(_ id: ObjectID, start: UInt64, hashBefore: SHA256, length: UInt64, crc: UInt32,
                        skip: (ObjectID) -> Bool) throws -> (id: ObjectID, added: Bool) {
        if known.contains(id) || skip(id) {
            try rewind(to: start, hash: hashBefore)
            return (id, false)
        }
        known.insert(id)
        payloadBytes += length
        entries.append(PackEntryLocation(id: id, offset: start, size: offset - start, crc: crc))
        return (id, true)
    }

    /// Adds an in-memory object; the ID is computed first (or given: `knownID`, the ID of these
    /// exact bytes) so duplicates cost no write, and the bytes are hashed only that once.
    @discardableResult
    func add(kind: ObjectKind, bytes: [UInt8], knownID: ObjectID? = nil, skip: (ObjectID) -> Bool = { _ in false }) throws
        -> (id: ObjectID, added: Bool)
    {
        let id = knownID ?? ObjectID.compute(kind: kind, payload: bytes)
        if known.contains(id) || skip(id) { return (id, false) }
        var source = BufferSource(bytes)
        return try add(kind: kind, length: UInt64(bytes.count), source: &source, knownID: { id }, skip: { _ in false })
    }

    /// Adds the zlib entry `reader` is on as it came: its encoded bytes are written as the
    /// reader consumes them, while the reader inflates and hashes them (ID, declared length and
    /// the stream's end are all checked), so a verified entry is never deflated again. `skip`
    /// as in ``add(kind:length:source:knownID:skip:)``.
    func adopt(entryOf reader: PackStreamReader, kind: ObjectKind, length: UInt64,
               skip: (ObjectID) -> Bool = { _ in false }) throws -> (id: ObjectID, added: Bool) {
        precondition(!closed, "PackWriter used after finish")
        precondition(reader.entryIsCompressed, "only a zlib entry is adopted as it is")
        let start = offset
        let hashBefore = packHash
        let header = PackFormat.entryHeader(kind: kind, compressed: true, length: length)
        var crc = header.withUnsafeBytes { CRC32.update(0, $0) }
        try write(header)
        reader.compressedTap = { bytes in
            crc = CRC32.update(crc, bytes)
            try self.write(bytes)
        }
        defer { reader.compressedTap = nil }
        var scratch = [UInt8](repeating: 0, count: 256 << 10)
        while try scratch.withUnsafeMutableBytes({ try reader.read(into: $0) }) > 0 {}
        guard let id = reader.lastID else { throw StoreError(.corrupt, "pack entry \(reader.count) was not read to its end") }
        return try record(id, start: start, hashBefore: hashBefore, length: length, crc: crc, skip: skip)
    }

    /// Copies an already-encoded entry (from another pack) without re-encoding.
    func addRaw(id: ObjectID, entry: [UInt8]) throws {
        guard !known.contains(id) else { return }
        let start = offset
        try write(entry)
        let crc = entry.withUnsafeBytes { CRC32.update(0, $0) }
        known.insert(id)
        entries.append(PackEntryLocation(id: id, offset: start, size: offset - start, crc: crc))
    }

    private func rewind(to position: UInt64, hash: SHA256) throws {
        try output.flush()
        do {
            try fd.resize(to: Int64(position))
            _ = try fd.seek(offset: Int64(position), from: .start)
        } catch {
            throw StoreError.io(error, path: tempPack, "cannot rewind the temporary pack")
        }
        offset = position
        packHash = hash
    }

    /// Seals the pack and moves it into `packsDirectory`. Returns nil (and leaves nothing
    /// behind) when no object was added.
    func finish(into packsDirectory: String, durable: Bool) throws -> PackInfo? {
        precondition(!closed, "PackWriter finished twice")
        closed = true
        defer { try? fd.close() }
        guard !entries.isEmpty else {
            try? Sys.unlink(tempPack)
            return nil
        }
        var trailer: [UInt8] = []
        PackFormat.appendUInt64(&trailer, UInt64(entries.count))
        packHash.update(data: trailer)
        let checksum = Array(packHash.finalize())
        trailer.append(contentsOf: checksum)
        let tempIndex = tempDirectory + "/idx-" + Sys.randomToken() + ".tmp"
        let name = "pack-" + checksum.map { String($0, radix: 16).leftPadded(2) }.joined()
        let packPath = packsDirectory + "/" + name + ".pack"
        let indexPath = packsDirectory + "/" + name + ".idx"
        do {
            try output.append(trailer)
            try output.flush()
            if durable { try Sys.fsync(fd) }
            let index = PackIndex.encode(entries: entries, packChecksum: checksum)
            let ifd = try FileIO.createExclusive(tempIndex)
            try FileIO.closeAfter(ifd) { ifd in
                try FileIO.writeAll(ifd, index)
                if durable { try Sys.fsync(ifd) }
            }
            try Sys.rename(tempPack, packPath)
            try Sys.rename(tempIndex, indexPath)
            if durable { try Sys.fsyncDirectory(packsDirectory) }
        } catch {
            try? Sys.unlink(tempPack)
            try? Sys.unlink(tempIndex)
            throw StoreError.io(error, path: packPath, "cannot write pack")
        }
        return PackInfo(name: name, objects: entries.count, bytes: offset + UInt64(PackFormat.trailerSize))
    }

    /// Writes the trailer and hands the finished pack file over without publishing it in the
    /// store (bundles and archives embed it). The caller owns, and must remove, the file.
    func seal() throws -> (path: String, bytes: UInt64, objects: Int) {
        precondition(!closed, "PackWriter finished twice")
        closed = true
        defer { try? fd.close() }
        var trailer: [UInt8] = []
        PackFormat.appendUInt64(&trailer, UInt64(entries.count))
        packHash.update(data: trailer)
        trailer.append(contentsOf: packHash.finalize())
        do {
            try output.append(trailer)
            try output.flush()
        } catch {
            try? Sys.unlink(tempPack)
            throw StoreError.io(error, path: tempPack, "cannot write pack")
        }
        return (tempPack, offset + UInt64(PackFormat.trailerSize), entries.count)
    }

    /// Throws the pack away (nothing was published).
    func abandon() {
        guard !closed else { return }
        closed = true
        try? fd.close()
        try? Sys.unlink(tempPack)
    }
}

/// A pack that was written.
public struct PackInfo: Sendable, Equatable {
    /// `pack-<hex of the pack checksum>`.
    public var name: String
    /// Objects in the pack.
    public var objects: Int
    /// Size of the pack file in bytes.
    public var bytes: UInt64
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

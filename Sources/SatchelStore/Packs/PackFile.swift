import Crypto
import SystemPackage

/// One published pack (`packs/<name>.pack` + `.idx`): reads objects out of it by ID.
final class PackFile: Sendable {
    let name: String
    let packPath: String
    let indexPath: String
    let index: PackIndex

    init(directory: String, name: String) throws {
        self.name = name
        packPath = directory + "/" + name + ".pack"
        indexPath = directory + "/" + name + ".idx"
        let bytes: [UInt8]
        do { bytes = try FileIO.readSmallFile(indexPath, limit: 1 << 31) } catch {
            throw StoreError.io(error, path: indexPath, "cannot read pack index")
        }
        do {
            index = try PackIndex(bytes: bytes, what: "pack index \(name).idx")
            // A missing pack file is fsck's "pack file missing"; a present one must hold every entry.
            if let packSize = try? Sys.status(packPath).size {
                try index.checkEntries(fitIn: packSize, what: "pack index \(name).idx")
            }
        } catch var error as StoreError {
            error.path = indexPath
            throw error
        }
    }

    func contains(_ id: ObjectID) -> Bool { index.position(of: id) != nil }

    /// Streams the payload of `id` to `sink`, checking the entry's CRC, length and hash.
    func read(_ id: ObjectID, into sink: (UnsafeRawBufferPointer) throws -> Void) throws
        -> (kind: ObjectKind, length: UInt64)?
    {
        guard let location = index.entry(for: id) else { return nil }
        return try withEntry(id) { fd in
            let result = try Self.decodeEntry(fd, location: location, sink: sink)
            guard result.id == id else {
                throw StoreError(.corrupt, "pack entry for \(id.short) hashes to \(result.id.short)")
            }
            return (result.kind, result.length)
        }
    }

    /// Runs `body` on the open pack file; store errors it throws name the pack and `id`.
    private func withEntry<T>(_ id: ObjectID, _ body: (FileDescriptor) throws -> T) throws -> T {
        let fd: FileDescriptor
        do { fd = try FileIO.openRead(packPath) } catch {
            throw StoreError.io(error, path: packPath, "cannot open pack")
        }
        return try FileIO.closeAfter(fd) { fd in
            do {
                return try body(fd)
            } catch var error as StoreError {
                error.path = packPath
                error.object = id
                throw error
            }
        }
    }

    /// Kind and length from the entry header.
    func info(_ id: ObjectID) throws -> (kind: ObjectKind, length: UInt64)? {
        guard let location = index.entry(for: id) else { return nil }
        let fd = try FileIO.openRead(packPath)
        return try FileIO.closeAfter(fd) { fd in
            var header = [UInt8](repeating: 0, count: PackFormat.entryHeaderSize)
            let n = try header.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: Int64(location.offset), into: $0) }
            guard n == header.count, let kind = ObjectKind(rawValue: header[0]) else {
                throw StoreError(.corrupt, "pack entry header for \(id.short) is damaged", path: packPath, object: id)
            }
            return (kind, header.withUnsafeBytes { PackFormat.readUInt64($0, at: 2) })
        }
    }

    /// The raw entry bytes (header + encoded payload), CRC-checked, for copying between packs.
    func rawEntry(_ location: PackEntryLocation) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(location.size))
        try copyEntry(location) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Decodes one entry at its recorded location: CRC over the raw bytes, then inflate (or
    /// copy) and hash. Reads in bounded chunks whatever the object's size.
    static func decodeEntry(_ fd: FileDescriptor, location: PackEntryLocation,
                            sink: (UnsafeRawBufferPointer) throws -> Void) throws
        -> (kind: ObjectKind, length: UInt64, id: ObjectID)
    {
        guard location.size >= UInt64(PackFormat.entryHeaderSize) else {
            throw StoreError(.corrupt, "pack entry is shorter than its header")
        }
        var buffer = [UInt8](repeating: 0, count: Int(min(256 * 1024, max(location.size, 1))))
        var position = Int64(location.offset)
        var remaining = Int64(location.size)
        var crc: UInt32 = 0
        var decoder: ObjectStreamDecoder?
        var inflater: Inflater?
        while remaining > 0 {
            let want = Int(min(Int64(buffer.count), remaining))
            let n = try buffer.withUnsafeMutableBytes { raw in
                try fd.read(fromAbsoluteOffset: position, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<want]))
            }
            if n == 0 { throw StoreError(.truncated, "pack is truncated inside the entry for \(location.id.short)") }
            position += Int64(n)
            remaining -= Int64(n)
            try buffer.withUnsafeBytes { raw in
                var chunk = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                crc = CRC32.update(crc, chunk)
                if decoder == nil {
                    guard chunk.count >= PackFormat.entryHeaderSize,
                          let kind = ObjectKind(rawValue: chunk[0]),
                          chunk[1] == PackFormat.encodingStored || chunk[1] == PackFormat.encodingZlib else {
                        throw StoreError(.corrupt, "pack entry header for \(location.id.short) is damaged")
                    }
                    decoder = ObjectStreamDecoder(kind: kind, length: PackFormat.readUInt64(chunk, at: 2))
                    if chunk[1] == PackFormat.encodingZlib {
                        inflater = Inflater(outputCapacity: Int(min(256 * 1024, max(min(location.size, 1 << 20) * 4, 4096))))
                    }
                    chunk = UnsafeRawBufferPointer(rebasing: chunk[PackFormat.entryHeaderSize...])
                }
                if let inflater {
                    if !chunk.isEmpty && inflater.finished {
                        throw StoreError(.corrupt, "pack entry for \(location.id.short) has bytes after its zlib stream")
                    }
                    do {
                        let used = try inflater.decompress(chunk) { try decoder!.feed($0, payload: sink) }
                        if used < chunk.count {
                            throw StoreError(.corrupt, "pack entry for \(location.id.short) has bytes after its zlib stream")
                        }
                    } catch is ZlibStatus {
                        throw StoreError(.corrupt, "pack entry for \(location.id.short) has a damaged zlib stream")
                    }
                } else {
                    try decoder!.feed(chunk, payload: sink)
                }
            }
        }
        guard crc == location.crc else {
            throw StoreError(.corrupt, "pack entry for \(location.id.short) fails its CRC")
        }
        if let inflater, !inflater.finished {
            throw StoreError(.corrupt, "pack entry for \(location.id.short) is truncated")
        }
        guard let decoder else { throw StoreError(.corrupt, "pack entry for \(location.id.short) is empty") }
        return try decoder.finish()
    }

    /// Where `id`'s entry lies, when it is zlib-encoded and its header says `kind` and
    /// `length` (nil when it is stored; a header that says another kind or length is damage).
    func zlibEntry(_ id: ObjectID, kind: ObjectKind, length: UInt64) throws -> PackEntryLocation? {
        guard let location = index.entry(for: id) else { return nil }
        return try withEntry(id) { fd in
            var header = [UInt8](repeating: 0, count: PackFormat.entryHeaderSize)
            let n = try header.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: Int64(location.offset), into: $0) }
            guard n == header.count, location.size > UInt64(PackFormat.entryHeaderSize) else {
                throw StoreError(.corrupt, "pack entry for \(id.short) is truncated")
            }
            guard header[1] == PackFormat.encodingZlib else { return nil }
            guard header[0] == kind.rawValue, header.withUnsafeBytes({ PackFormat.readUInt64($0, at: 2) }) == length else {
                throw StoreError(.corrupt, "pack entry for \(id.short) is not the \(length)-byte \(kind) declared for it")
            }
            return location
        }
    }

    /// Streams the raw bytes of an entry (header and encoded payload) to `sink` in bounded
    /// chunks, checking its CRC at the end (a mismatch throws after the bytes went out: the
    /// caller's output is then unusable).
    func copyEntry(_ location: PackEntryLocation, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try withEntry(location.id) { fd in
            var source = FileRangeSource(fd, offset: Int64(location.offset), end: Int64(location.offset + location.size))
            var buffer = [UInt8](repeating: 0, count: Int(min(location.size, 256 << 10)))
            var crc: UInt32 = 0
            var copied: UInt64 = 0
            while copied < location.size {
                let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
                guard n > 0 else { throw StoreError(.truncated, "pack is truncated inside the entry for \(location.id.short)") }
                try buffer.withUnsafeBytes { raw in
                    let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                    crc = CRC32.update(crc, chunk)
                    try sink(chunk)
                }
                copied += UInt64(n)
            }
            guard crc == location.crc else { throw StoreError(.corrupt, "pack entry for \(location.id.short) fails its CRC") }
        }
    }

    /// Checks the whole pack file: header, trailer count, trailer checksum against the index.
    func verifyChecksum() throws {
        let fd = try FileIO.openRead(packPath)
        try FileIO.closeAfter(fd) { fd in
            let size = try Sys.status(fd).size
            let minimum = UInt64(PackFormat.headerSize + PackFormat.trailerSize)
            guard size >= minimum else { throw StoreError(.truncated, "pack \(name) is truncated", path: packPath) }
            var sha = SHA256()
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var position: UInt64 = 0
            let bodyEnd = size - 32
            var header: [UInt8] = []
            var trailerCount: [UInt8] = []
            while position < size {
                let n = try buffer.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: Int64(position), into: $0) }
                if n == 0 { break }
                let chunkEnd = position + UInt64(n)
                if header.count < PackFormat.headerSize {
                    header.append(contentsOf: buffer[0..<min(n, PackFormat.headerSize - header.count)])
                }
                let hashed = Int(min(chunkEnd, bodyEnd) - min(position, bodyEnd))
                if hashed > 0 { buffer.withUnsafeBytes { sha.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<hashed])) } }
                for i in 0..<n {
                    let at = position + UInt64(i)
                    if at >= bodyEnd - 8 && at < bodyEnd { trailerCount.append(buffer[i]) }
                }
                position = chunkEnd
            }
            try header.withUnsafeBytes { try PackFormat.checkHeader($0, magic: PackFormat.packMagic, what: "pack \(name)") }
            let count = trailerCount.withUnsafeBytes { PackFormat.readUInt64($0, at: 0) }
            guard count == UInt64(index.count) else {
                throw StoreError(.corrupt, "pack \(name) holds \(count) objects but its index lists \(index.count)",
                                 path: packPath)
            }
            guard Array(sha.finalize()) == index.packChecksum else {
                throw StoreError(.corrupt, "pack \(name) fails its checksum (damaged or truncated)", path: packPath)
            }
        }
    }
}

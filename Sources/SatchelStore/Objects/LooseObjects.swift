import SystemPackage

/// Loose objects written to temporary files (``LooseObjects/stage(_:encoder:)``), waiting for
/// their barriers: contents durable (a file-system sync), then renamed to their addresses, then
/// the names durable (another sync, which a ref commit that follows may issue itself).
struct StagedLoose {
    let directory: String
    var files: [(temp: String, target: String)] = []

    var isEmpty: Bool { files.isEmpty }

    /// Contents barrier, renames, names barrier: the objects are durable and visible.
    func publish() throws {
        guard !files.isEmpty else { return }
        try syncContents()
        try rename()
        do { try Sys.syncFileSystem(directory) } catch {
            throw StoreError.io(error, path: directory, "cannot make new objects durable")
        }
    }

    /// Makes the staged contents durable (one syncfs for all of them).
    func syncContents() throws {
        guard !files.isEmpty else { return }
        do { try Sys.syncFileSystem(directory) } catch {
            discard()
            throw StoreError.io(error, path: directory, "cannot make new objects durable")
        }
    }

    /// Moves every staged file to its address (after ``syncContents()``). The names are durable
    /// only after the next file-system barrier.
    func rename() throws {
        do {
            for file in files {
                _ = try Sys.mkdir(FileIO.parent(of: file.target))
                try Sys.rename(file.temp, file.target)
            }
        } catch {
            discard()
            throw StoreError.io(error, path: directory, "cannot move new objects into place")
        }
    }

    /// Removes whatever is still staged (a file already renamed is left in place).
    func discard() {
        for file in files { try? Sys.unlink(file.temp) }
    }
}

/// Loose objects: one file per object at `objects/<2 hex>/<62 hex>`.
///
/// File format (docs/FORMAT.md): either a zlib stream (RFC 1950, first byte 0x78) of
/// `"<kind> <length>\0" + payload`, or the stored form: one byte 0x00 followed by the same
/// header and payload uncompressed (for payloads that do not compress).
struct LooseObjects {
    static let storedFlag: UInt8 = 0x00
    static let zlibFirstByte: UInt8 = 0x78

    let directory: String  // <store>/objects
    let tempDirectory: String  // <store>/tmp

    func path(of id: ObjectID) -> String {
        let hex = id.hex
        return directory + "/" + hex.prefix(2) + "/" + hex.dropFirst(2)
    }

    func exists(_ id: ObjectID) -> Bool { Sys.exists(path(of: id)) }

    /// Streams `length` bytes into a new loose object. The object appears at its address only
    /// once complete and (with `durable`) fsynced, together with its directory entry.
    /// Returns the ID and whether a new file was written (false: it already existed intact).
    func write(kind: ObjectKind, length: UInt64, source: inout some ByteSource,
               encoder: PayloadEncoder, durable: Bool) throws -> (id: ObjectID, created: Bool) {
        let temp = tempDirectory + "/obj-" + Sys.randomToken() + ".tmp"
        let fd: FileDescriptor
        do { fd = try FileIO.createExclusive(temp, mode: [.ownerRead, .groupRead, .otherRead]) } catch {
            throw StoreError.io(error, path: temp, "cannot create a temporary object file")
        }
        var keepTemp = false
        defer { if !keepTemp { try? Sys.unlink(temp) } }
        var output = OutputBuffer(fd: fd, path: temp)
        let id: ObjectID = try FileIO.closeAfter(fd) { fd in
            let id = try encoder.encode(
                kind: kind, length: length, source: &source, headerInStream: true,
                begin: { compressed in
                    if !compressed { try output.append([Self.storedFlag]) }
                },
                emit: { try output.append($0) })
            try output.flush()
            if durable {
                do { try Sys.fsync(fd) } catch { throw StoreError.io(error, path: temp, "cannot flush a new object to disk") }
            }
            return id
        }
        let target = path(of: id)
        if Sys.exists(target) {
            // An existing address is verified, not trusted; a damaged copy is replaced.
            if (try? verify(id)) != nil {
                try? Sys.touch(target)  // freshen, so gc's grace period protects it
                return (id, false)
            }
        }
        let fanout = FileIO.parent(of: target)
        do {
            let createdDirectory = try Sys.mkdir(fanout)
            try Sys.rename(temp, target)
            keepTemp = true
            if durable {
                try Sys.fsyncDirectory(fanout)
                if createdDirectory { try Sys.fsyncDirectory(directory) }
            }
        } catch {
            throw StoreError.io(error, path: target, "cannot move object \(id.short) into place")
        }
        return (id, true)
    }

    /// Encodes each object once into its own temporary file in `tmp/`, with no barrier yet. An
    /// address that already holds an intact copy is freshened, not rewritten. Nothing is
    /// visible until ``StagedLoose/publish()`` or ``StagedLoose/rename()``; dropping the result
    /// without either leaves temporary files that ``StagedLoose/discard()`` removes.
    func stage(_ objects: [(kind: ObjectKind, bytes: [UInt8], id: ObjectID)], encoder: PayloadEncoder) throws -> StagedLoose {
        var staged = StagedLoose(directory: directory)
        do {
            for object in objects {
                let target = path(of: object.id)
                if Sys.exists(target), (try? verify(object.id)) != nil {
                    try? Sys.touch(target)  // freshen, so gc's grace period protects it
                    continue
                }
                let temp = tempDirectory + "/obj-" + Sys.randomToken() + ".tmp"
                let fd: FileDescriptor
                do { fd = try FileIO.createExclusive(temp, mode: [.ownerRead, .groupRead, .otherRead]) } catch {
                    throw StoreError.io(error, path: temp, "cannot create a temporary object file")
                }
                staged.files.append((temp, target))
                var output = OutputBuffer(fd: fd, path: temp)
                try FileIO.closeAfter(fd) { _ in
                    var source = BufferSource(object.bytes)
                    _ = try encoder.encode(
                        kind: object.kind, length: UInt64(object.bytes.count), source: &source, headerInStream: true,
                        knownID: { object.id },
                        begin: { compressed in
                            if !compressed { try output.append([Self.storedFlag]) }
                        },
                        emit: { try output.append($0) })
                    try output.flush()
                }
            }
        } catch {
            staged.discard()
            throw error
        }
        return staged
    }

    /// Streams the payload of a loose object to `sink`, verifying header, length and hash.
    /// The sink sees bytes before the hash is confirmed; callers that publish them must wait
    /// for this to return.
    @discardableResult
    func read(_ id: ObjectID, into sink: (UnsafeRawBufferPointer) throws -> Void) throws
        -> (kind: ObjectKind, length: UInt64)
    {
        let file = path(of: id)
        let fd: FileDescriptor
        do { fd = try FileIO.openRead(file) } catch {
            throw StoreError.io(error, path: file, "cannot open object \(id.short)")
        }
        let result = try FileIO.closeAfter(fd) { fd in
            do {
                return try Self.decode(fd, sink: sink)
            } catch var error as StoreError {
                error.object = id
                error.path = file
                throw error
            }
        }
        guard result.id == id else {
            throw StoreError(.corrupt, "object \(id.short) holds content that hashes to \(result.id.short)",
                             path: file, object: id)
        }
        return (result.kind, result.length)
    }

    /// Reads and rehashes; throws if the object is damaged.
    func verify(_ id: ObjectID) throws {
        try read(id) { _ in }
    }

    /// Header only: kind and length, without reading the payload.
    func info(_ id: ObjectID) throws -> (kind: ObjectKind, length: UInt64) {
        let file = path(of: id)
        let fd = try FileIO.openRead(file)
        return try FileIO.closeAfter(fd) { fd in
            var decoder = ObjectStreamDecoder()
            var found: (ObjectKind, UInt64)?
            struct Done: Error {}
            do {
                _ = try Self.decodeStream(fd) { chunk in
                    try decoder.feed(chunk) { _ in }
                    if let kind = decoder.kind { found = (kind, decoder.length); throw Done() }
                }
            } catch is Done {}
            guard let found else { throw StoreError(.corrupt, "object header is unreadable", path: file, object: id) }
            return found
        }
    }

    /// Decodes a loose object file from `fd`: returns what the content hashes to.
    static func decode(_ fd: FileDescriptor, sink: (UnsafeRawBufferPointer) throws -> Void) throws
        -> (kind: ObjectKind, length: UInt64, id: ObjectID)
    {
        var decoder = ObjectStreamDecoder()
        try decodeStream(fd) { try decoder.feed($0, payload: sink) }
        return try decoder.finish()
    }

    /// Undoes the loose file encoding (stored flag or zlib), passing decoded bytes on.
    private static func decodeStream(_ fd: FileDescriptor,
                                     _ decoded: (UnsafeRawBufferPointer) throws -> Void) throws {
        // Sized to the file: a small object's read should not zero 256 KiB.
        let fileSize = Int((try? Sys.status(fd).size) ?? 0)
        var buffer = [UInt8](repeating: 0, count: min(256 * 1024, max(fileSize, 64)))
        var first = true
        var inflater: Inflater?
        while true {
            let n = try buffer.withUnsafeMutableBytes { try fd.read(into: $0) }
            if n == 0 { break }
            try buffer.withUnsafeBytes { raw in
                var chunk = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                if first {
                    first = false
                    switch chunk[0] {
                    case storedFlag:
                        chunk = UnsafeRawBufferPointer(rebasing: chunk[1...])
                    case zlibFirstByte:
                        inflater = Inflater(outputCapacity: min(256 * 1024, max(fileSize * 4, 4096)))
                    default:
                        throw StoreError(.corrupt, "object file starts with an unknown encoding byte")
                    }
                }
                if let inflater {
                    if inflater.finished { throw StoreError(.corrupt, "object file has bytes after its zlib stream") }
                    let used: Int
                    do { used = try inflater.decompress(chunk, into: decoded) } catch is ZlibStatus {
                        throw StoreError(.corrupt, "object file's zlib stream is damaged")
                    }
                    if used < chunk.count { throw StoreError(.corrupt, "object file has bytes after its zlib stream") }
                } else {
                    try decoded(chunk)
                }
            }
        }
        if first { throw StoreError(.truncated, "object file is empty") }
        if let inflater, !inflater.finished {
            throw StoreError(.truncated, "object file is truncated (zlib stream does not end)")
        }
    }
}

/// Collects small writes into 256 KiB before calling write(2).
/// A failing write(2) is reported as a `StoreError` naming `path`, never as a bare errno.
struct OutputBuffer {
    let fd: FileDescriptor
    let path: String
    private var buffer: [UInt8] = []
    private(set) var written: UInt64 = 0
    static let capacity = 256 * 1024

    init(fd: FileDescriptor, path: String) {
        self.fd = fd
        self.path = path
        buffer.reserveCapacity(Self.capacity)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        do { try Sys.writeAll(fd, bytes) } catch {
            throw StoreError.io(error, path: path, "cannot write \(path)")
        }
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) throws {
        written += UInt64(bytes.count)
        if buffer.count + bytes.count > Self.capacity { try flush() }
        if bytes.count >= Self.capacity {
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    mutating func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    mutating func flush() throws {
        if buffer.isEmpty { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }
}

import SystemPackage

/// A content-addressed object store on the local file system.
///
/// Layout under the store root (docs/FORMAT.md): `objects/` (loose objects), `packs/`
/// (packs and indexes), `refs/` (one file per ref), `tmp/` (temporary files, same file system
/// so renames are atomic). Files above this layer (`config.xml`) are the caller's.
///
/// Single writes go to loose objects, each durable on return. Bulk work uses
/// ``ObjectBatch``, which writes one pack with one durability barrier. Every read verifies the
/// content against its ID.
public final class ObjectStore: Sendable {
    /// The store directory.
    public let root: String
    /// Decides which new objects are deflated.
    public let compression: CompressionPolicy
    /// The store's refs and change log.
    public let refs: RefStore

    let loose: LooseObjects
    let packSet: PackSet
    var objectsDirectory: String { root + "/objects" }
    var packsDirectory: String { root + "/packs" }
    var tempDirectory: String { root + "/tmp" }

    /// A new, unused path in the store's `tmp/` for a scratch file of the caller's (a bundle in
    /// transit, a spool): `<prefix><random hex><suffix>`. The caller removes it.
    public func scratchPath(_ prefix: String, suffix: String) -> String {
        LocalFiles.uniquePath(in: tempDirectory, prefix: prefix, suffix: suffix)
    }

    static let subdirectories = ["objects", "packs", "refs", "tmp"]

    /// Opens an existing store.
    public init(root: String, compression: CompressionPolicy = CompressionPolicy()) throws {
        let root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        for name in Self.subdirectories {
            guard let status = try? Sys.status(root + "/" + name), status.isDirectory else {
                throw StoreError(.notFound, "no Satchel store here (missing \(name)/)", path: root)
            }
        }
        self.root = root
        self.compression = compression
        loose = LooseObjects(directory: root + "/objects", tempDirectory: root + "/tmp")
        packSet = PackSet(directory: root + "/packs")
        refs = RefStore(directory: root + "/refs", tempDirectory: root + "/tmp",
                        changeLog: ChangeLog(path: root + "/changes.log", tempDirectory: root + "/tmp"))
        packSet.refresh()
        try refs.recoverInterruptedTransactions()
        sweepStaleTemporaryFiles()
    }

    /// Temporary files untouched for this long belong to a process that was killed: a live
    /// writer keeps its file's modification time fresh, and no writer idles this long.
    public static let temporaryFileGrace: Double = 3600

    /// Removes leftovers of killed writers from `tmp/` (temporary objects, packs, rich bodies,
    /// copies, sync bundles: names ending `.tmp`, `.satchel-tmp` or `.bundle`) not modified for ``temporaryFileGrace``.
    /// Locks and transaction journals are not touched (they have their own recovery). Returns
    /// the number removed. Runs on every open; failures are ignored (the next open retries).
    @discardableResult
    func sweepStaleTemporaryFiles(grace: Double = temporaryFileGrace) -> Int {
        let cutoff = Sys.now() - grace
        var removed = 0
        for name in (try? Sys.list(tempDirectory)) ?? [] where name.hasSuffix(".tmp") || name.hasSuffix(".satchel-tmp") || name.hasSuffix(".bundle") {
            let path = tempDirectory + "/" + name
            guard let status = try? Sys.linkStatus(path), status.isRegular, status.modified < cutoff else { continue }
            if (try? Sys.unlink(path)) != nil { removed += 1 }
        }
        // A pack published without its index (the writer stopped between the two renames).
        let packFiles = Set((try? Sys.list(packsDirectory)) ?? [])
        for file in packFiles where file.hasSuffix(".pack") && !packFiles.contains(String(file.dropLast(5)) + ".idx") {
            let path = packsDirectory + "/" + file
            guard let status = try? Sys.linkStatus(path), status.isRegular, status.modified < cutoff else { continue }
            if (try? Sys.unlink(path)) != nil { removed += 1 }
        }
        return removed
    }

    /// Creates the store's directories durably inside `root` (which may exist, but then must
    /// not contain any of them) and opens it.
    public static func create(at root: String, compression: CompressionPolicy = CompressionPolicy()) throws -> ObjectStore {
        do {
            try Sys.mkdir(root)
            for name in subdirectories {
                guard try Sys.mkdir(root + "/" + name) else {
                    throw StoreError(.exists, "a store already exists here (\(name)/ is present)", path: root)
                }
            }
            try Sys.openLockFile(root + "/commit.lock").close()  // RefStore's commit barrier
            try Sys.fsyncDirectory(root)
            try Sys.fsyncDirectory(FileIO.parent(of: root))
        } catch {
            throw StoreError.io(error, path: root, "cannot create store")
        }
        return try ObjectStore(root: root, compression: compression)
    }

    // MARK: Writing

    /// Stores an in-memory payload as a durable loose object.
    @discardableResult
    public func put(_ kind: ObjectKind, _ bytes: [UInt8]) throws -> ObjectID {
        let id = ObjectID.compute(kind: kind, payload: bytes)
        if freshenIfPresent(id) { return id }
        var source = BufferSource(bytes)
        return try put(kind, length: UInt64(bytes.count), from: &source)
    }

    /// Streams exactly `length` bytes from `source` into a durable loose object, with bounded
    /// memory whatever the length.
    @discardableResult
    public func put(_ kind: ObjectKind, length: UInt64, from source: inout some ByteSource) throws -> ObjectID {
        let encoder = PayloadEncoder(policy: compression, expectedLength: length)
        return try loose.write(kind: kind, length: length, source: &source, encoder: encoder, durable: true).id
    }

    /// Streams a file into the store. The file must not change size while it is read.
    @discardableResult
    public func putFile(_ kind: ObjectKind, path: String) throws -> ObjectID {
        let fd: FileDescriptor
        do { fd = try FileIO.openRead(path) } catch {
            throw StoreError.io(error, path: path, "cannot open input file")
        }
        return try FileIO.closeAfter(fd) { fd in
            let size = try Sys.status(fd).size
            var source = FileSource(fd)
            return try put(kind, length: size, from: &source)
        }
    }

    /// Starts a batch: objects added to it land in one pack, made durable together at
    /// ``ObjectBatch/commit()``.
    public func batch() throws -> ObjectBatch {
        try ObjectBatch(store: self)
    }

    /// If `id` is stored and intact, refresh its age (gc grace) and return true.
    func freshenIfPresent(_ id: ObjectID, refreshPacks: Bool = true) -> Bool {
        if loose.exists(id), (try? loose.verify(id)) != nil {
            try? Sys.touch(loose.path(of: id))
            return true
        }
        for pack in packSet.locate(id, refreshOnMiss: refreshPacks) where (try? pack.read(id, into: { _ in })) != nil {
            try? Sys.touch(pack.packPath)
            return true
        }
        return false
    }

    // MARK: Reading

    /// True if the store has an object at this address (not verified; reads verify).
    public func contains(_ id: ObjectID) -> Bool {
        loose.exists(id) || !packSet.locate(id).isEmpty
    }

    /// Streams the payload to `sink` and verifies it. On damage it throws `.corrupt` after the
    /// sink may already have seen bytes: publish what the sink wrote only after success.
    /// A damaged copy is skipped when another copy (loose or packed) is intact and the damage
    /// shows before any byte reached the sink.
    @discardableResult
    public func read(_ id: ObjectID, into sink: (UnsafeRawBufferPointer) throws -> Void) throws
        -> (kind: ObjectKind, length: UInt64)
    {
        var firstError: StoreError?
        if loose.exists(id) {
            var delivered = false
            do {
                return try loose.read(id) { delivered = true; try sink($0) }
            } catch let error as StoreError where error.isDamage && !delivered {
                firstError = error
            }
        }
        for pack in packSet.locate(id) {
            var delivered = false
            do {
                if let result = try pack.read(id, into: { delivered = true; try sink($0) }) { return result }
            } catch let error as StoreError where error.isDamage && !delivered {
                firstError = firstError ?? error
            }
        }
        throw firstError ?? StoreError(.notFound, "object \(id) is not in the store", object: id)
    }

    /// An object the store holds zlib-encoded in a pack, where it lies: to copy its entry as it
    /// is (``copy(_:to:)``) instead of inflating and deflating it again. Nil when no pack holds it
    /// compressed (a loose object's stream also holds its header). A pack entry whose header
    /// says another kind or length than given is damage.
    public func packedZlibEntry(_ id: ObjectID, kind: ObjectKind, length: UInt64) throws -> PackedEntry? {
        for pack in packSet.locate(id) {
            if let location = try pack.zlibEntry(id, kind: kind, length: length) { return PackedEntry(pack: pack, location: location) }
        }
        return nil
    }

    /// Streams a packed entry's bytes (entry header, then its zlib stream) to `sink`, checking
    /// the entry's CRC (a mismatch throws once the bytes went out; the output is then unusable).
    public func copy(_ entry: PackedEntry, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try entry.pack.copyEntry(entry.location, to: sink)
    }

    /// Reads a whole payload into memory, verified. Refuses payloads over `limit` bytes, so a
    /// caller can never be made to load an attachment by mistake.
    public func read(_ id: ObjectID, limit: Int = 64 << 20) throws -> (kind: ObjectKind, bytes: [UInt8]) {
        let (_, length) = try info(id)
        guard length <= UInt64(limit) else {
            throw StoreError(.tooLarge, "object \(id.short) is \(length) bytes, over the \(limit)-byte limit for in-memory reads",
                             object: id)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(length))
        let result = try read(id) { bytes.append(contentsOf: $0) }
        return (result.kind, bytes)
    }

    /// Kind and length from the header, without reading or verifying the payload.
    public func info(_ id: ObjectID) throws -> (kind: ObjectKind, length: UInt64) {
        var damage: StoreError?
        if loose.exists(id) {
            do { return try loose.info(id) } catch let error as StoreError where error.code != .notFound {
                damage = error
            } catch let error as Errno where error != .noSuchFileOrDirectory {
                damage = StoreError(.io, "cannot read object \(id.short)", path: loose.path(of: id), object: id, cause: error)
            } catch {}
        }
        for pack in packSet.locate(id) {
            if let info = try pack.info(id) { return info }
        }
        // A damaged copy reads as damaged, not as missing.
        throw damage ?? StoreError(.notFound, "object \(id) is not in the store", object: id)
    }

    /// Writes the payload to `path`, a new file, only once it is verified (``DurableFile``:
    /// temp → fsync → publish without overwriting → fsync directory). Anything already at
    /// `path`, a symlink included, is `.exists` and left untouched.
    /// `.ephemeral` skips the fsyncs, for scratch copies under the store's `tmp/`.
    public func export(_ id: ObjectID, to path: String, mode: DurableFile.Mode = .durable) throws {
        let file = try DurableFile(creating: path, mode: mode)
        do {
            try read(id) { try file.write($0) }
        } catch {
            file.discard()
            throw error
        }
        try file.publish()
    }

    // MARK: Enumeration

    /// IDs of all loose objects (by file name; fsck checks the names hold what they say).
    public func looseObjectIDs() throws -> [ObjectID] {
        var ids: [ObjectID] = []
        for fan in try Sys.list(objectsDirectory) where fan.count == 2 {
            for rest in try Sys.list(objectsDirectory + "/" + fan) {
                if let id = ObjectID(hex: fan + rest) { ids.append(id) }
            }
        }
        return ids
    }

    /// Every object ID in the store, loose and packed, without duplicates.
    public func allObjectIDs() throws -> Set<ObjectID> {
        packSet.refresh()
        var ids = Set(try looseObjectIDs())
        for pack in packSet.packs {
            for position in 0..<pack.index.count { ids.insert(pack.index.entry(at: position).id) }
        }
        return ids
    }
}

extension ObjectStore {
    /// Writes a small file at the store root (such as `config.xml`) atomically and durably.
    public func writeRootFile(_ name: String, _ bytes: [UInt8]) throws {
        guard !name.contains("/"), !name.hasPrefix("."), !Self.subdirectories.contains(name) else {
            throw StoreError(.invalidArgument, "not a valid root file name: \(name)")
        }
        try FileIO.writeFileDurably(root + "/" + name, bytes, tempDirectory: tempDirectory)
    }
}

/// Where an object lies zlib-encoded in one of the store's packs (``ObjectStore/packedZlibEntry(_:kind:length:)``).
public struct PackedEntry: Sendable {
    let pack: PackFile
    let location: PackEntryLocation
    /// The object.
    public var id: ObjectID { location.id }
    /// Bytes of the entry: its 10-byte header and its zlib stream.
    public var size: UInt64 { location.size }
}

import SystemPackage

/// Small helpers over swift-system's `FileDescriptor` used by every writer and reader.
enum FileIO {
    /// Runs `body` with the descriptor and closes it on every path, keeping the body's error.
    static func closeAfter<T>(_ fd: FileDescriptor, _ body: (FileDescriptor) throws -> T) throws -> T {
        let result: T
        do {
            result = try body(fd)
        } catch {
            try? fd.close()
            throw error
        }
        try fd.close()
        return result
    }

    static func openRead(_ path: String) throws -> FileDescriptor {
        try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
    }

    /// Creates a new file that must not exist yet (temp files get random names).
    static func createExclusive(_ path: String, mode: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead])
        throws -> FileDescriptor
    {
        try FileDescriptor.open(FilePath(path), .writeOnly,
                                options: [.create, .exclusiveCreate, .closeOnExec],
                                permissions: mode)
    }

    static func writeAll(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer) throws {
        try Sys.writeAll(fd, bytes)
    }

    static func writeAll(_ fd: FileDescriptor, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { (raw) in try writeAll(fd, raw) }
    }

    /// Reads into `buffer` until it is full or the file ends; returns the count read.
    static func readFully(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var total = 0
        while total < buffer.count {
            let n = try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[total...]))
            if n == 0 { break }
            total += n
        }
        return total
    }

    /// Reads a whole small file (refs, locks, indexes). Refuses files over `limit` bytes.
    static func readSmallFile(_ path: String, limit: Int) throws -> [UInt8] {
        let fd = try openRead(path)
        return try closeAfter(fd) { fd in
            let size = try Sys.status(fd).size
            guard size <= UInt64(limit) else {
                throw StoreError(.tooLarge, "file is \(size) bytes, over the \(limit)-byte limit",
                                 path: path)
            }
            var bytes = [UInt8](repeating: 0, count: Int(size))
            let n = try bytes.withUnsafeMutableBytes { try readFully(fd, into: $0) }
            bytes.removeLast(bytes.count - n)
            return bytes
        }
    }

    /// Writes a small file atomically: temp in the same file system → fsync → rename → fsync
    /// dir (the fsyncs only with `durable`).
    static func writeFileDurably(_ path: String, _ bytes: [UInt8], tempDirectory: String,
                                 durable: Bool = true) throws {
        let temp = tempDirectory + "/write-" + Sys.randomToken() + ".tmp"
        do {
            let fd = try createExclusive(temp)
            try closeAfter(fd) { fd in
                try writeAll(fd, bytes)
                if durable { try Sys.fsync(fd) }
            }
            try Sys.rename(temp, path)
            if durable { try Sys.fsyncDirectory(parent(of: path)) }
        } catch {
            try? Sys.unlink(temp)
            throw StoreError.io(error, path: path, "cannot write file durably")
        }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

extension StoreError {
    /// Wraps an OS error (keeps StoreErrors as they are).
    static func io(_ error: any Error, path: String?, _ message: String) -> StoreError {
        if let storeError = error as? StoreError { return storeError }
        if let errno = error as? Errno {
            if errno == .noSuchFileOrDirectory {
                return StoreError(.notFound, message, path: path, cause: errno)
            }
            return StoreError(.io, message, path: path, cause: errno)
        }
        return StoreError(.io, message + ": \(error)", path: path)
    }
}

/// Durability barriers for layers above the store that write files of their own (bundles,
/// archives), so they need no libc.
public enum Durability {
    /// fsync(2) of an open file.
    public static func sync(_ fd: FileDescriptor) throws {
        do { try Sys.fsync(fd) } catch { throw StoreError.io(error, path: nil, "fsync failed") }
    }

    /// fsync(2) of a directory, after creating or renaming an entry in it.
    public static func syncDirectory(_ path: String) throws {
        do { try Sys.fsyncDirectory(path) } catch { throw StoreError.io(error, path: path, "fsync of directory failed") }
    }

    /// syncfs(2): flushes every dirty page of the file system holding `path` (one barrier for
    /// many files, such as a restored store).
    public static func syncFileSystem(_ path: String) throws {
        do { try Sys.syncFileSystem(path) } catch { throw StoreError.io(error, path: path, "syncfs failed") }
    }

    /// rename(2): atomically moves `from` to `to` (which may be an empty directory when `from` is
    /// a directory). Publishing a finished directory or file under its final name.
    public static func rename(_ from: String, to: String) throws {
        do { try Sys.rename(from, to) } catch { throw StoreError.io(error, path: to, "rename failed") }
    }
}

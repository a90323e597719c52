import SystemPackage

/// A new file written in one stream and published under its final name only when complete:
/// the one implementation of the durable-write protocol for files outside the object store
/// (bundles, backup archives, exported objects and attachments).
///
/// The protocol (restic's local backend, git's object writes):
/// 1. create a temporary file with a random name in the destination's directory (same file
///    system, so publishing is atomic), mode 0600 until published;
/// 2. write through a 256 KiB buffer (every write goes through `Sys`, so fault injection sees it);
/// 3. ``Mode/durable``: fsync(2) the file;
/// 4. publish **without overwriting**: renameat2(RENAME_NOREPLACE) (link(2) + unlink(2) where
///    the file system cannot), so an existing file, or a symlink, at the destination is never
///    replaced or followed; it is `.exists`, and nothing is touched;
/// 5. ``Mode/durable``: fsync(2) the directory.
///
/// ``Mode/ephemeral`` skips both fsyncs: for transport files that are consumed at once and can
/// be made again (a bundle exchanged between two local stores). A file that is neither
/// published nor discarded is removed when the value is dropped.
public final class DurableFile {
    /// Whether publishing makes the file durable (fsyncs) or only visible.
    public enum Mode: Sendable {
        case durable
        case ephemeral
    }

    /// The final path.
    public let path: String
    /// Durable or ephemeral.
    public let mode: Mode
    let temp: String
    private var fd: FileDescriptor?
    private var output: OutputBuffer?
    private var permissions: FilePermissions
    /// Bytes written so far.
    public var count: UInt64 { output?.written ?? 0 }

    /// Creates the temporary file next to `path`. Throws `.exists` (without creating anything)
    /// when something, even a dangling symlink, is already at `path`, and `.notFound` when its
    /// directory does not exist.
    public init(creating path: String, mode: Mode = .durable,
                permissions: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]) throws {
        self.path = path
        self.mode = mode
        self.permissions = permissions
        try Self.checkAbsent(path)
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
        temp = FileIO.parent(of: path) + "/." + name.prefix(40) + "." + Sys.randomToken() + ".satchel-tmp"
        do {
            let fd = try FileIO.createExclusive(temp, mode: [.ownerReadWrite])
            self.fd = fd
            output = OutputBuffer(fd: fd, path: path)
        } catch {
            throw StoreError.io(error, path: path, "cannot create a file next to \(path)")
        }
    }

    deinit { discard() }

    /// Throws `.exists` when something (even a dangling symlink) is at `path`: for callers that
    /// do long work before creating the file, to refuse at once. Creating still checks.
    public static func checkAbsent(_ path: String) throws {
        if Sys.exists(path) {
            throw StoreError(.exists, "\(path) already exists; it is never overwritten", path: path)
        }
    }

    /// Writes everything `source` yields to a new file at `path` (in 1 MiB pieces, never whole)
    /// and publishes it. Returns the bytes written.
    @discardableResult
    public static func write(from source: inout some ByteSource, to path: String, mode: Mode = .durable) throws -> UInt64 {
        let out = try DurableFile(creating: path, mode: mode)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            try buffer.withUnsafeBytes { try out.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        let count = out.count
        try out.publish()
        return count
    }

    /// Appends bytes (buffered).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard output != nil else { throw StoreError(.invalidArgument, "file \(path) is already published or discarded") }
        do { try output!.append(bytes) } catch {
            throw StoreError.io(error, path: path, "cannot write \(path)")
        }
    }

    /// Appends bytes (buffered).
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Flushes, syncs, and moves the file to its final name without replacing anything there.
    public func publish() throws {
        guard let fd, output != nil else { throw StoreError(.invalidArgument, "file \(path) is already published or discarded") }
        do {
            try output!.flush()
            try fd.setPermissions(permissions)
            if mode == .durable { try Sys.fsync(fd) }
            // Forget the descriptor before closing: a failed close still releases it, and
            // discard() must not close the number again (it may be another thread's file by then).
            self.fd = nil
            output = nil
            try fd.close()
        } catch {
            discard()
            throw StoreError.io(error, path: path, "cannot write \(path)")
        }
        do {
            try Sys.renameNoReplace(temp, path)
        } catch .fileExists {
            discard()
            throw StoreError(.exists, "\(path) already exists; it is never overwritten", path: path)
        } catch {
            discard()
            throw StoreError.io(error, path: path, "cannot move the finished file into place at \(path)")
        }
        if mode == .durable {
            do { try Sys.fsyncDirectory(FileIO.parent(of: path)) } catch {
                // Published but maybe not durable: say so, the caller decides.
                throw StoreError.io(error, path: path, "\(path) was written but its directory could not be synced")
            }
        }
    }

    /// Removes the temporary file (nothing is published). Safe to call more than once.
    public func discard() {
        if let fd { try? fd.close() }
        fd = nil
        output = nil
        try? Sys.unlink(temp)
    }
}

extension FileDescriptor {
    fileprivate func setPermissions(_ permissions: FilePermissions) throws {
        try Sys.fchmod(self, permissions.rawValue)
    }
}

/// Input files named by a person (attachments, bodies, configuration): only regular files are
/// read, so a FIFO cannot block a command and a directory fails with its path named.
public enum InputFile {
    /// Opens `path` for reading if it is a regular file; returns the descriptor and its size.
    /// The open does not block (O_NONBLOCK, harmless for regular files). `.notFound` if
    /// missing, `.invalidArgument` naming the path if it is a directory, FIFO, device or socket.
    public static func open(_ path: String) throws -> (fd: FileDescriptor, size: UInt64) {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec, .nonBlocking])
        } catch let error as Errno where error == .isDirectory {
            throw StoreError(.invalidArgument, "\(path) is a directory, not a file", path: path)
        } catch {
            throw StoreError.io(error, path: path, "cannot open \(path)")
        }
        do {
            let status = try Sys.status(fd)
            guard status.isRegular else {
                throw StoreError(.invalidArgument,
                                 "\(path) is \(status.isDirectory ? "a directory" : "not a regular file (a FIFO, device or socket)"); only regular files are read",
                                 path: path)
            }
            return (fd, status.size)
        } catch {
            try? fd.close()
            throw StoreError.io(error, path: path, "cannot read \(path)")
        }
    }

    /// The size of `path` if it is a regular file; nil if it is missing or anything else.
    public static func size(_ path: String) -> UInt64? {
        guard let status = try? Sys.status(path), status.isRegular else { return nil }
        return status.size
    }

    /// Reads a whole regular file of at most `limit` bytes.
    public static func read(_ path: String, limit: Int) throws -> [UInt8] {
        let (fd, size) = try open(path)
        return try FileIO.closeAfter(fd) { fd in
            guard size <= UInt64(limit) else {
                throw StoreError(.tooLarge, "\(path) is \(size) bytes, over the \(limit)-byte limit", path: path)
            }
            var bytes = [UInt8](repeating: 0, count: Int(size) + 1)
            let n: Int
            do { n = try bytes.withUnsafeMutableBytes { try FileIO.readFully(fd, into: $0) } } catch {
                throw StoreError.io(error, path: path, "cannot read \(path)")
            }
            guard n <= Int(size) else {
                throw StoreError(.tooLarge, "\(path) grew while being read", path: path)
            }
            bytes.removeLast(bytes.count - n)
            return bytes
        }
    }
}

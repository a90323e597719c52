#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CSatchelSystem
import SystemPackage

/// The store's only door to libc for what swift-system does not wrap (fsync, rename, link,
/// directories, stat), and the one place every durable write passes: `write`, `fsync`,
/// `rename`, `link` and directory syncs first ask ``FaultInjection`` (tests, crash campaigns).
/// Every call retries on EINTR in one place and throws `Errno`.
enum Sys {
    @discardableResult
    static func retrying<T: BinaryInteger>(_ call: () -> T) throws(Errno) -> T {
        while true {
            let result = call()
            if result != -1 { return result }
            let err = Errno(rawValue: errno)
            if err != .interrupted { throw err }
        }
    }

    /// Opens (creating if needed) a lock file for flock(2); the caller closes it, which
    /// releases any lock it holds.
    static func openLockFile(_ path: String) throws(Errno) -> FileDescriptor {
        FileDescriptor(rawValue: try retrying { Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) })
    }

    /// flock(2) shared, waiting as long as it takes.
    static func lockShared(_ fd: FileDescriptor) throws(Errno) {
        try retrying { satchel_flock_shared(fd.rawValue) }
    }

    /// flock(2) exclusive without waiting: `.wouldBlock` when someone holds it.
    static func tryLockExclusive(_ fd: FileDescriptor) throws(Errno) {
        try retrying { satchel_flock_exclusive_nowait(fd.rawValue) }
    }

    static func fsync(_ fd: FileDescriptor) throws(Errno) {
        try FaultInjection.check(.fsync)
        try retrying { Glibc.fsync(fd.rawValue) }
    }

    /// write(2) of part of `bytes`; returns the count written.
    static func write(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer) throws(Errno) -> Int {
        try FaultInjection.check(.write)
        return try retrying { Glibc.write(fd.rawValue, bytes.baseAddress, bytes.count) }
    }

    /// Writes all of `bytes`.
    static func writeAll(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer) throws(Errno) {
        var offset = 0
        while offset < bytes.count {
            offset += try write(fd, UnsafeRawBufferPointer(rebasing: bytes[offset...]))
        }
    }

    /// Moves `from` to `to` only if `to` does not exist (EEXIST otherwise), atomically:
    /// renameat2(RENAME_NOREPLACE), or link(2) + unlink(2) where the file system cannot.
    static func renameNoReplace(_ from: String, _ to: String) throws(Errno) {
        try FaultInjection.check(.rename)
        do {
            try retrying { satchel_rename_noreplace(from, to) }
        } catch let error where error == .invalidArgument || error == .noFunction || error == .notSupported {
            try link(from, to)
            try unlink(from)
        }
    }

    /// Flushes every dirty page of the file system holding `path` in one call: the barrier for
    /// a batch of many small files (one syncfs instead of one fsync per file).
    static func syncFileSystem(_ path: String) throws(Errno) {
        let fd = try retrying { Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { _ = Glibc.close(fd) }
        try FaultInjection.check(.dirsync)
        try retrying { satchel_syncfs(fd) }
    }

    /// Flushes a directory's entries (after a rename or create inside it).
    static func fsyncDirectory(_ path: String) throws(Errno) {
        let fd = try retrying { Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { _ = Glibc.close(fd) }
        try FaultInjection.check(.dirsync)
        try retrying { Glibc.fsync(fd) }
    }

    static func rename(_ from: String, _ to: String) throws(Errno) {
        try FaultInjection.check(.rename)
        try retrying { Glibc.rename(from, to) }
    }

    static func link(_ from: String, _ to: String) throws(Errno) {
        try FaultInjection.check(.link)
        try retrying { Glibc.link(from, to) }
    }

    static func fchmod(_ fd: FileDescriptor, _ mode: mode_t) throws(Errno) {
        try retrying { Glibc.fchmod(fd.rawValue, mode) }
    }

    static func unlink(_ path: String) throws(Errno) {
        try retrying { Glibc.unlink(path) }
    }

    static func rmdir(_ path: String) throws(Errno) {
        try retrying { Glibc.rmdir(path) }
    }

    /// Creates a directory; returns false if it already existed.
    @discardableResult
    static func mkdir(_ path: String, mode: mode_t = 0o755) throws(Errno) -> Bool {
        do {
            try retrying { Glibc.mkdir(path, mode) }
            return true
        } catch .fileExists {
            return false
        }
    }

    struct Status {
        var size: UInt64
        var modified: Double  // seconds since the epoch
        var isDirectory: Bool
        var isRegular: Bool
        var isSymlink = false
    }

    static func status(_ path: String) throws(Errno) -> Status {
        var st = Glibc.stat()
        try retrying { statCall(path, &st) }
        return Status(st)
    }

    static func linkStatus(_ path: String) throws(Errno) -> Status {
        var st = Glibc.stat()
        try retrying { Glibc.lstat(path, &st) }
        return Status(st)
    }

    static func status(_ fd: FileDescriptor) throws(Errno) -> Status {
        var st = Glibc.stat()
        try retrying { Glibc.fstat(fd.rawValue, &st) }
        return Status(st)
    }

    static func exists(_ path: String) -> Bool {
        var st = Glibc.stat()
        return Glibc.lstat(path, &st) == 0
    }

    /// Sets access and modification time to now (git's "freshen").
    static func touch(_ path: String) throws(Errno) {
        try retrying { Glibc.utimes(path, nil) }
    }

    /// Sets the modification time (tests use this to age files).
    static func setModified(_ path: String, secondsSinceEpoch: Double) throws(Errno) {
        var times = [timeval](repeating: timeval(), count: 2)
        let whole = Int(secondsSinceEpoch)
        let micro = Int((secondsSinceEpoch - Double(whole)) * 1_000_000)
        for i in 0..<2 { times[i] = timeval(tv_sec: whole, tv_usec: micro) }
        try retrying { Glibc.utimes(path, times) }
    }

    /// Names in a directory, excluding "." and "..". A missing directory lists as empty.
    static func list(_ path: String) throws(Errno) -> [String] {
        guard let dir = Glibc.opendir(path) else {
            let err = Errno(rawValue: errno)
            if err == .noSuchFileOrDirectory { return [] }
            throw err
        }
        defer { Glibc.closedir(dir) }
        var names: [String] = []
        while let entry = Glibc.readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static var processID: Int32 { Glibc.getpid() }

    /// True if a process with this pid exists on this host (EPERM counts as alive).
    static func processIsAlive(_ pid: Int32) -> Bool {
        if pid <= 0 { return false }
        if Glibc.kill(pid, 0) == 0 { return true }
        return errno == EPERM
    }

    static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard Glibc.gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) },
                      as: UTF8.self)
    }

    /// Wall-clock seconds since the epoch.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Monotonic seconds, for timeouts.
    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func sleep(seconds: Double) {
        usleep(useconds_t(max(0, seconds) * 1_000_000))
    }

    /// 16 random bytes as hex, for temp names and lock tokens (two getrandom calls, not 16).
    static func randomToken() -> String {
        var rng = SystemRandomNumberGenerator()
        let words = [rng.next(), rng.next()] as [UInt64]
        return words.map { String($0, radix: 16).leftPadded(16) }.joined()
    }
}

private func statCall(_ path: String, _ st: inout stat) -> Int32 { stat(path, &st) }

extension Sys.Status {
    init(_ st: stat) {
        size = UInt64(st.st_size)
        modified = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
        isRegular = (st.st_mode & S_IFMT) == S_IFREG
        isSymlink = (st.st_mode & S_IFMT) == S_IFLNK
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BenchSupport

// Small libc helpers for the benchmark. StoreBench deliberately does not import Foundation:
// its children are measured for peak RSS, and Foundation alone would add several MiB that the
// store does not need.

enum Posix {
    static func errnoText() -> String {
        String(cString: strerror(errno))
    }

    static func openRead(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BenchError("cannot open \(path): \(errnoText())") }
        return fd
    }

    static func createFile(_ path: String) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BenchError("cannot create \(path): \(errnoText())") }
        return fd
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw BenchError("write failed: \(errnoText())")
            }
            offset += n
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeAll(fd, $0) }
    }

    /// Writes a whole file and fsyncs it (inputs must not be dirty when a timed run starts).
    static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let fd = try createFile(path)
        defer { close(fd) }
        try writeAll(fd, bytes)
        fsync(fd)
    }

    /// Reads into the buffer until full or end of file.
    static func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var total = 0
        while total < buffer.count {
            let n = read(fd, buffer.baseAddress! + total, buffer.count - total)
            if n < 0 {
                if errno == EINTR { continue }
                throw BenchError("read failed: \(errnoText())")
            }
            if n == 0 { break }
            total += n
        }
        return total
    }

    /// Reads a whole file (also /proc files, whose size reads as 0).
    static func readFile(_ path: String) throws -> [UInt8] {
        let fd = try openRead(path)
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw BenchError("cannot stat \(path)") }
        var bytes = [UInt8](repeating: 0, count: max(Int(st.st_size), 4096))
        var total = 0
        while true {
            if total == bytes.count { bytes.append(contentsOf: [UInt8](repeating: 0, count: bytes.count)) }
            let n = try bytes.withUnsafeMutableBytes { raw in
                try readFully(fd, UnsafeMutableRawBufferPointer(rebasing: raw[total...]))
            }
            total += n
            if total < bytes.count { break }
        }
        bytes.removeLast(bytes.count - total)
        return bytes
    }

    static func readText(_ path: String) throws -> String {
        String(decoding: try readFile(path), as: UTF8.self)
    }

    static func mkdir(_ path: String) throws {
        guard Glibc.mkdir(path, 0o755) == 0 else { throw BenchError("cannot mkdir \(path): \(errnoText())") }
    }

    /// A fresh directory `<parent>/<prefix>XXXXXX`.
    static func makeTempDirectory(in parent: String, prefix: String) throws -> String {
        var template = Array((parent + "/" + prefix + "XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw BenchError("mkdtemp in \(parent) failed: \(errnoText())") }
        return String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    static func fileSize(_ path: String) -> UInt64 {
        var st = stat()
        return lstat(path, &st) == 0 ? UInt64(st.st_size) : 0
    }

    /// Sum of regular file sizes below `path`.
    static func treeSize(_ path: String) -> UInt64 {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        if (st.st_mode & S_IFMT) == S_IFREG { return UInt64(st.st_size) }
        guard (st.st_mode & S_IFMT) == S_IFDIR, let dir = opendir(path) else { return 0 }
        defer { closedir(dir) }
        var total: UInt64 = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            total += treeSize(path + "/" + name)
        }
        return total
    }

    /// Files directly in `path` whose names end with `suffix`.
    static func list(_ path: String, suffix: String = "") -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." && name.hasSuffix(suffix) { names.append(name) }
        }
        return names.sorted()
    }

    static func getenv(_ name: String) -> String? {
        guard let value = Glibc.getenv(name) else { return nil }
        return String(cString: value)
    }

    /// Flushes all dirty data so a timed run does not pay for earlier writes (or deletions).
    static func syncAll() { sync() }
}


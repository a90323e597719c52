#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A TCP listener on 127.0.0.1 (random port) that never answers: it only counts connections
/// that reached it. Hostile fixtures point their URLs at it.
final class LoopbackTripwire {
    private let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        // deinit closes the descriptor, also when this init throws: closing it here too could
        // close a file another thread opened in between.
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(fd) }

    /// Connections that arrived so far (waits up to `timeout` for stragglers).
    func connections(waiting timeout: Int32 = 100) -> Int {
        var count = 0
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while poll(&poller, 1, timeout) > 0 {
            let client = accept(fd, nil, nil)
            guard client >= 0 else { break }
            close(client)
            count += 1
        }
        return count
    }

    /// Connects to the listener once (to prove the tripwire works).
    func knock() {
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        close(client)
    }
}

/// A secret file in a temporary directory, watched with inotify: any open or read of it (by
/// this process or another) is an event.
final class FileTripwire {
    let path: String
    static let content = "SECRET-PHI-DO-NOT-READ-4242"
    private let directory: URL
    private let fd: Int32

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("satchel-tripwire-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("secret.txt").path
        try Data(Self.content.utf8).write(to: URL(fileURLWithPath: path))
        fd = inotify_init1(Int32(IN_NONBLOCK))
        guard fd >= 0, inotify_add_watch(fd, path, UInt32(IN_OPEN | IN_ACCESS)) >= 0 else {
            throw POSIXError(.EIO)
        }
    }

    deinit {
        close(fd)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Number of inotify events (opens, reads) since the watch began.
    func events() -> Int {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var count = 0
        while true {
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { break }
            var offset = 0
            while offset < n {
                let length = buffer.withUnsafeBytes {
                    $0.load(fromByteOffset: offset + 12, as: UInt32.self)
                }
                offset += 16 + Int(length)
                count += 1
            }
        }
        return count
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// Process facts every benchmark needs, in one place. No Foundation: StoreBench's children are
// measured for peak RSS, and Foundation alone would add several MiB the store does not need.

/// A benchmark failure with a one-line reason.
public struct BenchError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public enum BenchProcess {
    /// Monotonic seconds.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// User + system CPU seconds this process has used so far.
    public static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ tv: timeval) -> Double { Double(tv.tv_sec) + Double(tv.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Peak resident set of this process image, KiB: `VmHWM` from /proc/self/status.
    ///
    /// Not getrusage's ru_maxrss: the kernel carries the pre-exec address space's high-water mark
    /// into ru_maxrss at exec, and with posix_spawn (vfork) that is the *parent's* peak, so a
    /// child's ru_maxrss is never below its spawner's. VmHWM covers only this image. Falls back
    /// to ru_maxrss where /proc is missing.
    public static func selfPeakRSSKiB() -> Int {
        let fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            defer { close(fd) }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                bytes += buffer[0..<n]
            }
            for line in bytes.split(separator: 0x0A) where line.starts(with: Array("VmHWM:".utf8)) {
                let fields = line.split(separator: 0x20, omittingEmptySubsequences: true)
                if fields.count >= 2, let kib = Int(String(decoding: fields[1], as: UTF8.self)) { return kib }
            }
        }
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss
    }

    /// The running executable (to re-exec a phase in a child).
    public static func selfExecutable() throws -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { throw BenchError("cannot read /proc/self/exe") }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

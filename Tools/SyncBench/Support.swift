import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BenchSupport

enum Clock {
    /// Runs `body` and returns its result with the seconds it took.
    static func time<T>(_ body: () throws -> T) rethrows -> (T, Double) {
        let start = BenchProcess.now()
        let value = try body()
        return (value, BenchProcess.now() - start)
    }

}

enum Proc {
    /// Runs a command to completion; returns wall seconds. Throws on a non-zero exit, with the
    /// tail of its stderr.
    @discardableResult
    static func run(_ argv: [String], environment: [String: String], directory: String? = nil,
                    stdout: String = "/dev/null") throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") ? argv[0] : try which(argv[0], environment))
        process.arguments = Array(argv.dropFirst())
        process.environment = environment
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let errPath = NSTemporaryDirectory() + "syncbench-err-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard FileManager.default.createFile(atPath: errPath, contents: nil),
              stdout == "/dev/null" || FileManager.default.createFile(atPath: stdout, contents: nil) else {
            throw BenchError("cannot create output files for \(argv[0])")
        }
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        let out = FileHandle(forWritingAtPath: stdout), err = FileHandle(forWritingAtPath: errPath)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let start = BenchProcess.now()
        try process.run()
        process.waitUntilExit()
        let seconds = BenchProcess.now() - start
        try? out?.close()
        try? err?.close()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let text = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            throw BenchError("`\(argv.joined(separator: " "))` failed (\(process.terminationStatus)): \(text.suffix(2000))")
        }
        return seconds
    }

    static func which(_ name: String, _ environment: [String: String]) throws -> String {
        for dir in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw BenchError("\(name) not found in PATH")
    }

    static func output(_ argv: [String], environment: [String: String], directory: String? = nil) throws -> String {
        let path = NSTemporaryDirectory() + "syncbench-out-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try run(argv, environment: environment, directory: directory, stdout: path)
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// Bytes of regular files below `path` (apparent sizes).
    static func treeBytes(_ path: String) -> UInt64 {
        var total: UInt64 = 0
        guard let e = FileManager.default.enumerator(atPath: path) else { return 0 }
        while let rel = e.nextObject() as? String {
            if let attrs = e.fileAttributes, attrs[.type] as? FileAttributeType == .typeRegular {
                total += (attrs[.size] as? UInt64) ?? 0
            }
            _ = rel
        }
        return total
    }
}

/// `key=value` result files written by child phases.
enum ResultFile {
    static func write(_ path: String, _ values: [(String, String)]) throws {
        let text = values.map { "\($0.0)=\($0.1)\n" }.joined()
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func read(_ path: String) throws -> [String: String] {
        var values: [String: String] = [:]
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return values
    }
}


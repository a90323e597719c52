import Crypto
import Foundation
import SatchelStore
import SatchelTestSupport
import SystemPackage
import Testing

/// The container of bundles and archives: what the writer writes the reader opens, in both
/// verification modes; every damage to the bytes is refused; nothing is ever overwritten.
@Suite struct SealedFileTests {
    static let layout = SealedFile.Layout(name: "test file", magic: "SATCHTST", version: 3, prefixSize: 16)

    /// Writes a sealed file with a 4-byte field in the prefix and `body` after it.
    static func write(_ body: [UInt8], to path: String, field: UInt32 = 7) throws -> UInt64 {
        let writer = try SealedFile.Writer(creating: path, prefix: layout.prefix { BigEndian.append(&$0, field) })
        // In uneven pieces, as formats write.
        var offset = 0, piece = 1
        while offset < body.count {
            let end = min(body.count, offset + piece)
            try writer.write(Array(body[offset..<end]))
            offset = end
            piece = piece * 3 + 1
        }
        return try writer.seal()
    }

    /// Reads the whole body of a file opened with `verification`, then finishes.
    static func readBody(_ path: String, _ verification: SealedFile.Verification) throws -> (prefix: [UInt8], body: [UInt8]) {
        let file = try SealedFile.open(path, layout: layout, verification: verification)
        var source = file.body(from: Int64(layout.prefixSize))
        var body: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1000)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            body += buffer[0..<n]
        }
        try file.finish()
        return (file.prefix, body)
    }

    @Test func whatIsWrittenIsReadInBothModesWithItsExactBytes() throws {
        let dir = TemporaryDirectory()
        for count in [0, 1, 999, 70_000] {
            let body = randomBytes(count, seed: UInt64(count))
            let path = dir.path("f\(count)")
            let size = try Self.write(body, to: path)
            // The whole file: prefix, body, SHA-256 of both.
            let prefix = Array("SATCHTST".utf8) + [0, 0, 0, 3, 0, 0, 0, 7]
            let expected = prefix + body + Array(SHA256.hash(data: prefix + body))
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == expected)
            #expect(size == UInt64(expected.count))
            for mode in [SealedFile.Verification.atOpen, .whileReading] {
                let read = try Self.readBody(path, mode)
                #expect(read.prefix == prefix)
                #expect(read.body == body)
            }
        }
    }

    /// Every single flipped byte and every truncation is refused as damage by a full read in
    /// either mode (a whileReading open may succeed, but then ``SealedFile/finish()`` fails).
    @Test func everyFlippedByteAndEveryTruncationIsDamage() throws {
        let dir = TemporaryDirectory()
        let good = dir.path("good")
        _ = try Self.write(randomBytes(300, seed: 1), to: good)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: good)))
        var cases: [[UInt8]] = []
        for i in bytes.indices {
            var damaged = bytes
            damaged[i] ^= 0x40
            cases.append(damaged)
        }
        for length in 0..<bytes.count { cases.append(Array(bytes[0..<length])) }
        cases.append(bytes + [0])
        for (n, damaged) in cases.enumerated() {
            let path = dir.path("bad\(n)")
            try Data(damaged).write(to: URL(fileURLWithPath: path))
            for mode in [SealedFile.Verification.atOpen, .whileReading] {
                do {
                    _ = try Self.readBody(path, mode)
                    Issue.record("case \(n) (\(mode)) was accepted")
                } catch let error as StoreError {
                    #expect(error.isDamage, "case \(n) (\(mode)): \(error)")
                }
            }
        }
    }

    @Test func aBodyNotReadToItsEndIsNotFinished() throws {
        let dir = TemporaryDirectory()
        let path = dir.path("f")
        _ = try Self.write(randomBytes(5000, seed: 2), to: path)
        let file = try SealedFile.open(path, layout: Self.layout, verification: .whileReading)
        var source = file.body(from: 16)
        var buffer = [UInt8](repeating: 0, count: 100)
        _ = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
        #expect(throws: StoreError.self) { try file.finish() }
    }

    @Test func anotherFormatOrVersionIsRefused() throws {
        let dir = TemporaryDirectory()
        let path = dir.path("f")
        _ = try Self.write([1, 2, 3], to: path)
        let other = SealedFile.Layout(name: "other", magic: "SATCHOTH", version: 3, prefixSize: 16)
        let newer = SealedFile.Layout(name: "test file", magic: "SATCHTST", version: 4, prefixSize: 16)
        for layout in [other, newer] {
            #expect { _ = try SealedFile.open(path, layout: layout, verification: .atOpen) } throws: {
                ($0 as? StoreError)?.code == .corrupt
            }
        }
        #expect { _ = try SealedFile.open(dir.path("missing"), layout: Self.layout, verification: .atOpen) } throws: {
            ($0 as? StoreError)?.code == .notFound
        }
    }

    /// An existing file (or a dangling symlink) is never replaced, and an unsealed writer leaves
    /// nothing behind.
    @Test func nothingIsOverwrittenAndAnUnsealedFileLeavesNoTrace() throws {
        let dir = TemporaryDirectory()
        let path = dir.path("taken")
        try Data([9, 9]).write(to: URL(fileURLWithPath: path))
        #expect { _ = try Self.write([1], to: path) } throws: { ($0 as? StoreError)?.code == .exists }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([9, 9]))
        try FileManager.default.createSymbolicLink(atPath: dir.path("link"), withDestinationPath: dir.path("nowhere"))
        #expect { _ = try Self.write([1], to: dir.path("link")) } throws: { ($0 as? StoreError)?.code == .exists }
        #expect(!FileManager.default.fileExists(atPath: dir.path("nowhere")))

        let raced = dir.path("raced")
        let writer = try SealedFile.Writer(creating: raced, prefix: Self.layout.prefix { BigEndian.append(&$0, UInt32(1)) })
        try writer.write([1, 2, 3])
        try Data([7]).write(to: URL(fileURLWithPath: raced))  // someone else got there first
        #expect { _ = try writer.seal() } throws: { ($0 as? StoreError)?.code == .exists }
        #expect(try Data(contentsOf: URL(fileURLWithPath: raced)) == Data([7]))

        do {
            let dropped = try SealedFile.Writer(creating: dir.path("dropped"), prefix: Self.layout.prefix { BigEndian.append(&$0, UInt32(1)) })
            try dropped.write([1, 2, 3])
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["link", "raced", "taken"])
    }

    /// A refused open closes its descriptor exactly once. Closed twice, the number may already
    /// belong to a file another thread just opened, which then fails with EBADF (seen as a rare
    /// "bad file descriptor" in a concurrent test): here one thread opens damaged files while
    /// another reads a good file through descriptors of its own.
    @Test func aRefusedOpenNeverClosesAnotherThreadsFile() async throws {
        let dir = TemporaryDirectory()
        let good = dir.path("good"), damaged = dir.path("damaged")
        _ = try Self.write(randomBytes(4000, seed: 3), to: good)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: good)))
        bytes[100] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: damaged))
        let opener = Task {
            try await onOwnThread {
                for _ in 0..<3000 {
                    do {
                        _ = try SealedFile.open(damaged, layout: Self.layout, verification: .atOpen)
                        return "a damaged file was opened"
                    } catch let error as StoreError where error.isDamage {}
                }
                return ""
            }
        }
        let readerFailures = try await onOwnThread {
            var failures = 0
            for _ in 0..<3000 {
                let fd = try FileDescriptor.open(FilePath(good), .readOnly)
                var byte: UInt8 = 0
                do { _ = try withUnsafeMutableBytes(of: &byte) { try fd.read(fromAbsoluteOffset: 0, into: $0) } } catch { failures += 1 }
                do { try fd.close() } catch { failures += 1 }
            }
            return failures
        }
        #expect(try await opener.value == "")
        #expect(readerFailures == 0, "reads or closes of the other thread's files failed")
    }
}

import Crypto
import Foundation
import SatchelManifest
import SatchelStore
import SystemPackage

/// Writes one archive file: prefix, header, header MAC (encrypted), body, trailing SHA-256.
/// The file is built under a temporary name next to its destination, fsynced, and moved into
/// place only when complete; an existing destination is never overwritten.
struct ArchiveWriter {
    /// Writes `header` and the pack at `packPath` (a sealed standalone pack) to `path`.
    /// With `keys`, the body is encrypted in chunks of `chunkSize`. Returns the archive size.
    static func write(header: BackupHeader, packPath: String, keys: ArchiveKeys?, chunkSize: Int,
                      to path: String, progress: ((UInt64) -> Void)? = nil) throws -> UInt64 {
        let headerBytes = try header.encoded()
        let prefix = ArchiveFormat.prefix(headerLength: headerBytes.count) + headerBytes
        let out: DurableFile
        do { out = try DurableFile(creating: path, permissions: [.ownerReadWrite]) } catch let error as StoreError {
            if error.code == .exists {
                throw BackupError(.targetExists, "\(path) already exists; an archive is never overwritten")
            }
            throw BackupError(.notFound, "cannot create the archive at \(path): \(error.message)")
        }
        defer { out.discard() }
        var sink = HashingSink(file: out)
        try sink.write(prefix)
        var aad: [UInt8] = []
        if let keys {
            aad = keys.headerMAC(prefix)
            try sink.write(aad)
        }
        let pack = try FileDescriptor.open(FilePath(packPath), .readOnly, options: [.closeOnExec])
        defer { try? pack.close() }
        let packSize = UInt64(try pack.seek(offset: 0, from: .end))
        var buffer = [UInt8](repeating: 0, count: keys == nil ? 1 << 20 : chunkSize)
        var position: UInt64 = 0
        var index: UInt64 = 0
        let cipher = keys.map { ChunkCipher(key: $0.encryption, aad: aad, chunkSize: chunkSize) }
        while position < packSize {
            let want = Int(min(UInt64(buffer.count), packSize - position))
            var got = 0
            while got < want {
                let n = try buffer.withUnsafeMutableBytes { raw in
                    try pack.read(fromAbsoluteOffset: Int64(position) + Int64(got),
                                  into: UnsafeMutableRawBufferPointer(rebasing: raw[got..<want]))
                }
                guard n > 0 else { throw StoreError(.truncated, "temporary pack ended early", path: packPath) }
                got += n
            }
            position += UInt64(want)
            try buffer.withUnsafeBytes { raw in
                let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<want])
                if let cipher {
                    let (ciphertext, tag) = try cipher.seal(chunk, index: index, final: position == packSize)
                    try ciphertext.withUnsafeBytes { try sink.write($0) }
                    try tag.withUnsafeBytes { try sink.write($0) }
                } else {
                    try sink.write(chunk)
                }
            }
            index += 1
            progress?(position)
        }
        let digest = Array(sink.sha.finalize())
        try sink.writeUnhashed(digest)
        do { try out.publish() } catch let error as StoreError where error.code == .exists {
            throw BackupError(.targetExists, "\(path) already exists; an archive is never overwritten")
        }
        return sink.total
    }
}

/// Output that hashes what it writes (the ``DurableFile`` buffers).
struct HashingSink {
    let file: DurableFile
    var sha = SHA256()
    var total: UInt64 = 0

    init(file: DurableFile) { self.file = file }

    mutating func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        sha.update(bufferPointer: bytes)
        try writeUnhashed(bytes)
    }

    mutating func writeUnhashed(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try writeUnhashed($0) } }

    mutating func writeUnhashed(_ bytes: UnsafeRawBufferPointer) throws {
        total += UInt64(bytes.count)
        try file.write(bytes)
    }
}

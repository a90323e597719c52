import Crypto
import Foundation
import SatchelManifest
import SatchelStore
import SystemPackage

/// Writes one archive file: prefix, header, header MAC (encrypted), body, trailing SHA-256, as a
/// ``SealedFile`` (built under a temporary name next to its destination, fsynced, and moved into
/// place only when complete; an existing destination is never overwritten).
struct ArchiveWriter {
    /// Writes `header` and the pack at `packPath` (a sealed standalone pack) to `path`.
    /// With `keys`, the body is encrypted in chunks of `chunkSize`. Returns the archive size.
    static func write(header: BackupHeader, packPath: String, keys: ArchiveKeys?, chunkSize: Int,
                      to path: String, progress: ((UInt64) -> Void)? = nil) throws -> UInt64 {
        let headerBytes = try header.encoded()
        guard headerBytes.count <= ArchiveFormat.maxHeaderBytes else {
            throw BackupError(.usage, "the archive header is \(headerBytes.count) bytes, over the \(ArchiveFormat.maxHeaderBytes)-byte limit")
        }
        let prefix = ArchiveFormat.prefix(headerLength: headerBytes.count)
        let out: SealedFile.Writer
        do { out = try SealedFile.Writer(creating: path, prefix: prefix, permissions: [.ownerReadWrite]) } catch let error as StoreError {
            throw targetError(error, path: path)
        }
        defer { out.discard() }
        try out.write(headerBytes)
        var aad: [UInt8] = []
        if let keys {
            aad = keys.headerMAC(prefix + headerBytes)
            try out.write(aad)
        }
        let (fd, packSize) = try InputFile.open(packPath)
        defer { try? fd.close() }
        var pack = FileRangeSource(fd, offset: 0, end: Int64(packSize))
        var buffer = [UInt8](repeating: 0, count: keys == nil ? 1 << 20 : chunkSize)
        var position: UInt64 = 0
        var index: UInt64 = 0
        let cipher = keys.map { ChunkCipher(key: $0.encryption, aad: aad, chunkSize: chunkSize) }
        while position < packSize {
            let want = Int(min(UInt64(buffer.count), packSize - position))
            let got = try buffer.withUnsafeMutableBytes { try pack.readFully(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want])) }
            guard got == want else { throw StoreError(.truncated, "temporary pack ended early", path: packPath) }
            position += UInt64(want)
            try buffer.withUnsafeBytes { raw in
                let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<want])
                if let cipher {
                    let (ciphertext, tag) = try cipher.seal(chunk, index: index, final: position == packSize)
                    try ciphertext.withUnsafeBytes { try out.write($0) }
                    try tag.withUnsafeBytes { try out.write($0) }
                } else {
                    try out.write(chunk)
                }
            }
            index += 1
            progress?(position)
        }
        do { return try out.seal() } catch let error as StoreError { throw targetError(error, path: path) }
    }

    /// `.exists` is the target taken and `.notFound` its missing directory; I/O failures pass
    /// through as they are.
    private static func targetError(_ error: StoreError, path: String) -> any Error {
        switch error.code {
        case .exists: BackupError(.targetExists, "\(path) already exists; an archive is never overwritten")
        case .notFound: BackupError(.notFound, "cannot create the archive at \(path): \(error.message)")
        default: error
        }
    }
}

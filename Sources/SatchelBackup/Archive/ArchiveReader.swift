import Crypto
import Foundation
import SatchelManifest
import SatchelStore
import SystemPackage

/// An opened archive whose trailing checksum, header and (if encrypted) passphrase and header
/// MAC have been checked. Its body is read with ``packReader()``, which checks every chunk tag,
/// every object hash and the pack's own checksum as it streams.
final class OpenedArchive {
    let path: String
    let fd: FileDescriptor
    let header: BackupHeader
    let size: UInt64
    let bodyOffset: Int64
    let bodyEnd: Int64
    let cipher: ChunkCipher?

    var isEncrypted: Bool { cipher != nil }

    private init(path: String, fd: FileDescriptor, header: BackupHeader, size: UInt64, bodyOffset: Int64,
                 bodyEnd: Int64, cipher: ChunkCipher?) {
        self.path = path
        self.fd = fd
        self.header = header
        self.size = size
        self.bodyOffset = bodyOffset
        self.bodyEnd = bodyEnd
        self.cipher = cipher
    }

    deinit { try? fd.close() }

    /// Opens and checks an archive. Damage is `.damaged`; a missing or wrong passphrase for an
    /// encrypted archive is `.passphrase`.
    static func open(_ path: String, passphrase: Passphrase?) throws -> OpenedArchive {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec]) } catch {
            throw BackupError(.notFound, "cannot open archive \(path)")
        }
        do {
            let size = try fd.seek(offset: 0, from: .end)
            let minimum = Int64(ArchiveFormat.prefixSize + ArchiveFormat.checksumSize)
            guard size >= minimum else { throw BackupError.damaged("\(path) is truncated (\(size) bytes)") }
            var prefix = [UInt8](repeating: 0, count: ArchiveFormat.prefixSize)
            try readExactly(fd, at: 0, into: &prefix)
            guard Array(prefix[0..<8]) == ArchiveFormat.magic else {
                throw BackupError.damaged("\(path) is not a Satchel backup archive (bad magic)")
            }
            let (version, algorithm, headerLength) = prefix.withUnsafeBytes {
                (BigEndian.uint32($0, at: 8), BigEndian.uint32($0, at: 12), Int(BigEndian.uint32($0, at: 16)))
            }
            guard version == ArchiveFormat.version else {
                throw BackupError.damaged("archive format version \(version) is not supported (this build reads \(ArchiveFormat.version))")
            }
            guard algorithm == ArchiveFormat.sha256Code else {
                throw BackupError.damaged("archive uses hash algorithm \(algorithm); this build knows 1 (sha256)")
            }
            guard headerLength <= ArchiveFormat.maxHeaderBytes,
                  Int64(ArchiveFormat.prefixSize + headerLength + ArchiveFormat.checksumSize) <= size else {
                throw BackupError.damaged("archive header length is impossible (truncated or tampered)")
            }
            try checkTrailer(fd, size: size, path: path)
            var headerBytes = [UInt8](repeating: 0, count: headerLength)
            try readExactly(fd, at: Int64(ArchiveFormat.prefixSize), into: &headerBytes)
            let header: BackupHeader
            do { header = try BackupHeader.decode(headerBytes, trust: .untrusted) } catch {
                throw BackupError.damaged("archive header is invalid: \(error)")
            }
            var bodyOffset = Int64(ArchiveFormat.prefixSize + headerLength)
            let bodyEnd = size - Int64(ArchiveFormat.checksumSize)
            var cipher: ChunkCipher?
            if let encryption = header.encryption {
                let keys = try ArchiveKeys.forHeader(encryption, passphrase: passphrase, archive: header.archive)
                guard bodyOffset + Int64(ArchiveFormat.macSize) <= bodyEnd else {
                    throw BackupError.damaged("archive is truncated after its header")
                }
                var mac = [UInt8](repeating: 0, count: ArchiveFormat.macSize)
                try readExactly(fd, at: bodyOffset, into: &mac)
                guard keys.headerMAC(prefix + headerBytes) == mac else {
                    throw BackupError.damaged("archive header fails its authentication (tampered)")
                }
                bodyOffset += Int64(ArchiveFormat.macSize)
                cipher = ChunkCipher(key: keys.encryption, aad: mac, chunkSize: Int(encryption.chunkSize))
            }
            return OpenedArchive(path: path, fd: fd, header: header, size: UInt64(size), bodyOffset: bodyOffset,
                                 bodyEnd: bodyEnd, cipher: cipher)
        } catch {
            try? fd.close()
            if let error = error as? BackupError { throw error }
            if let error = error as? StoreError, error.isDamage { throw BackupError.damaged("\(path): \(error.message)") }
            throw BackupError(.notFound, "cannot read archive \(path): \(error)")
        }
    }

    /// A sequential reader of the body's pack (decrypting when needed).
    func packReader() throws -> PackStreamReader {
        if let cipher {
            let source = try DecryptingSource(fd: fd, offset: bodyOffset, end: bodyEnd, cipher: cipher)
            return PackStreamReader(source: source, length: source.plaintextLength)
        }
        return PackStreamReader(fd: fd, offset: bodyOffset, end: bodyEnd)
    }

    private static func checkTrailer(_ fd: FileDescriptor, size: Int64, path: String) throws {
        var sha = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var position: Int64 = 0
        let body = size - Int64(ArchiveFormat.checksumSize)
        while position < body {
            let want = Int(min(Int64(buffer.count), body - position))
            let n = try buffer.withUnsafeMutableBytes {
                try fd.read(fromAbsoluteOffset: position, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]))
            }
            if n == 0 { throw BackupError.damaged("\(path) is truncated") }
            buffer.withUnsafeBytes { sha.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            position += Int64(n)
        }
        var trailer = [UInt8](repeating: 0, count: ArchiveFormat.checksumSize)
        try readExactly(fd, at: body, into: &trailer)
        guard Array(sha.finalize()) == trailer else {
            throw BackupError.damaged("archive checksum does not match: \(path) is damaged, truncated or tampered with")
        }
    }

    static func readExactly(_ fd: FileDescriptor, at offset: Int64, into bytes: inout [UInt8]) throws {
        var got = 0
        let count = bytes.count
        while got < count {
            let n = try bytes.withUnsafeMutableBytes {
                try fd.read(fromAbsoluteOffset: offset + Int64(got), into: UnsafeMutableRawBufferPointer(rebasing: $0[got..<count]))
            }
            if n == 0 { throw BackupError.damaged("archive is truncated") }
            got += n
        }
    }
}

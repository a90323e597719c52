import SatchelManifest
import SatchelStore
import SystemPackage

/// An opened archive whose trailing checksum, header and (if encrypted) passphrase and header
/// MAC have been checked. Its body is read with ``packReader()``, which checks every chunk tag,
/// every object hash and the pack's own checksum as it streams.
final class OpenedArchive {
    let file: SealedFile
    let header: BackupHeader
    let bodyOffset: Int64
    let cipher: ChunkCipher?

    var path: String { file.path }
    var size: UInt64 { UInt64(file.size) }
    var isEncrypted: Bool { cipher != nil }

    private init(file: SealedFile, header: BackupHeader, bodyOffset: Int64, cipher: ChunkCipher?) {
        self.file = file
        self.header = header
        self.bodyOffset = bodyOffset
        self.cipher = cipher
    }

    /// Opens and checks an archive. Damage is `.damaged`; a missing or wrong passphrase for an
    /// encrypted archive is `.passphrase`.
    static func open(_ path: String, passphrase: Passphrase?) throws -> OpenedArchive {
        let file: SealedFile
        do { file = try SealedFile.open(path, layout: ArchiveFormat.layout, verification: .atOpen) } catch {
            throw archiveError(error, path: path)
        }
        do {
            let (algorithm, headerLength) = file.prefix.withUnsafeBytes {
                (BigEndian.uint32($0, at: 12), Int(BigEndian.uint32($0, at: 16)))
            }
            guard algorithm == ArchiveFormat.sha256Code else {
                throw BackupError.damaged("archive uses hash algorithm \(algorithm); this build knows 1 (sha256)")
            }
            guard headerLength <= ArchiveFormat.maxHeaderBytes else {
                throw BackupError.damaged("archive header length is impossible (truncated or tampered)")
            }
            let headerBytes = try file.bytes(at: Int64(ArchiveFormat.layout.prefixSize), count: headerLength)
            let header: BackupHeader
            do { header = try BackupHeader.decode(headerBytes, trust: .untrusted) } catch {
                throw BackupError.damaged("archive header is invalid: \(error)")
            }
            var bodyOffset = Int64(ArchiveFormat.layout.prefixSize + headerLength)
            var cipher: ChunkCipher?
            if let encryption = header.encryption {
                let keys = try ArchiveKeys.forHeader(encryption, passphrase: passphrase, archive: header.archive)
                let mac = try file.bytes(at: bodyOffset, count: ArchiveFormat.macSize)
                guard keys.headerMAC(file.prefix + headerBytes) == mac else {
                    throw BackupError.damaged("archive header fails its authentication (tampered)")
                }
                bodyOffset += Int64(ArchiveFormat.macSize)
                cipher = ChunkCipher(key: keys.encryption, aad: mac, chunkSize: Int(encryption.chunkSize))
            }
            return OpenedArchive(file: file, header: header, bodyOffset: bodyOffset, cipher: cipher)
        } catch {
            file.close()
            throw archiveError(error, path: path)
        }
    }

    /// A sequential reader of the body's pack (decrypting when needed).
    func packReader() throws -> PackStreamReader {
        let body = file.body(from: bodyOffset)
        if let cipher {
            let source = try DecryptingSource(body, length: file.bodyEnd - bodyOffset, cipher: cipher)
            return PackStreamReader(source: source, length: source.plaintextLength)
        }
        return PackStreamReader(source: body, length: file.bodyEnd - bodyOffset)
    }

    /// Damaged bytes are `.damaged` and a missing file `.notFound`; I/O failures pass through.
    private static func archiveError(_ error: any Error, path: String) -> any Error {
        guard let error = error as? StoreError else { return error }
        if error.isDamage { return BackupError.damaged(error.message) }
        if error.code == .notFound { return BackupError(.notFound, "cannot open archive \(path)") }
        return error
    }
}

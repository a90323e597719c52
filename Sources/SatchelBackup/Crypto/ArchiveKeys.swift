import Crypto
import SatchelStore
import CryptoExtras
import Foundation
import SatchelManifest

/// A passphrase, read from a file (`--passphrase-file`). One trailing newline (LF or CRLF) is
/// not part of it, so `echo secret > F` works. Never printed.
public struct Passphrase: Sendable, CustomStringConvertible {
    let bytes: [UInt8]

    /// A passphrase of these bytes, less one trailing LF or CRLF; an empty one is refused.
    public init(_ bytes: [UInt8]) throws {
        var bytes = bytes
        if bytes.last == 0x0A { bytes.removeLast() }
        if bytes.last == 0x0D { bytes.removeLast() }
        guard !bytes.isEmpty else { throw BackupError(.passphrase, "the passphrase is empty") }
        self.bytes = bytes
    }

    /// A passphrase of the UTF-8 bytes of `string`.
    public init(string: String) throws { try self.init(Array(string.utf8)) }

    /// Reads the passphrase file.
    public init(file path: String) throws {
        let data: [UInt8]
        do { data = try InputFile.read(path, limit: 64 << 10) } catch let error as StoreError {
            if error.code == .tooLarge { throw BackupError(.usage, "passphrase file \(path) is over 64 KiB") }
            if error.code == .invalidArgument { throw BackupError(.usage, error.message) }
            throw BackupError(.notFound, "cannot read passphrase file \(path)")
        }
        try self.init(data)
    }

    public var description: String { "Passphrase(hidden)" }
}

/// scrypt cost parameters.
public struct ScryptParameters: Sendable, Hashable {
    /// CPU/memory cost N (a power of two).
    public var n: UInt64
    /// Block size r.
    public var r: UInt64
    /// Parallelism p.
    public var p: UInt64

    /// Parameters as given; a reader checks them against its bounds before deriving a key.
    public init(n: UInt64, r: UInt64, p: UInt64) {
        self.n = n
        self.r = r
        self.p = p
    }

    /// N = 2^15, r = 8, p = 1: 32 MiB and about 0.1 s here (restic's calibration lands near it).
    public static let standard = ScryptParameters(n: 1 << 15, r: 8, p: 1)
    /// For tests only: cheap.
    public static let fast = ScryptParameters(n: 1 << 10, r: 8, p: 1)

    /// Bounds a reader accepts, so a hostile header cannot make it spend gigabytes.
    func check() throws {
        guard n >= 1 << 10, n <= 1 << 20, n & (n - 1) == 0, (1...32).contains(r), (1...16).contains(p),
              128 * n * r * p <= 1 << 30 else {
            throw BackupError.damaged("archive header has scrypt parameters outside the accepted bounds (N=\(n), r=\(r), p=\(p))")
        }
    }
}

/// The two keys derived from a passphrase: AES-256-GCM for the body chunks, HMAC-SHA256 for
/// the header. scrypt(passphrase, salt, N, r, p) → 64 bytes; the first 32 are the encryption
/// key, the last 32 the MAC key.
struct ArchiveKeys: Sendable {
    let encryption: SymmetricKey
    let mac: SymmetricKey

    static let keyCheckLabel = Array("satchel-backup-key-check-1".utf8)

    init(passphrase: Passphrase, salt: [UInt8], parameters: ScryptParameters) throws {
        try parameters.check()
        let derived: SymmetricKey
        do {
            derived = try KDF.Scrypt.deriveKey(from: passphrase.bytes, salt: salt, outputByteCount: 64,
                                               rounds: Int(parameters.n), blockSize: Int(parameters.r),
                                               parallelism: Int(parameters.p))
        } catch {
            throw BackupError(.passphrase, "scrypt key derivation failed: \(error)")
        }
        let bytes = derived.withUnsafeBytes { Array($0) }
        encryption = SymmetricKey(data: bytes[0..<32])
        mac = SymmetricKey(data: bytes[32..<64])
    }

    /// Hex HMAC of a fixed label: recorded in the header to recognise a wrong passphrase.
    var keyCheck: String { Hex.encode(Array(HMAC<SHA256>.authenticationCode(for: Self.keyCheckLabel, using: mac))) }

    func headerMAC(_ bytes: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: bytes, using: mac))
    }

    /// Derives the keys for an archive header's encryption parameters and checks the key check.
    static func forHeader(_ encryption: BackupHeader.Encryption, passphrase: Passphrase?, archive: String) throws -> ArchiveKeys {
        guard let passphrase else {
            throw BackupError(.passphrase, "archive \(archive) is encrypted: give its passphrase with --passphrase-file")
        }
        guard let salt = Hex.decode(encryption.salt), salt.count >= 16 else {
            throw BackupError.damaged("archive header has a malformed salt")
        }
        guard encryption.chunkSize >= 4096, encryption.chunkSize <= 64 << 20 else {
            throw BackupError.damaged("archive header has a chunk size outside the accepted bounds")
        }
        let keys = try ArchiveKeys(passphrase: passphrase, salt: salt,
                                   parameters: ScryptParameters(n: encryption.n, r: encryption.r, p: encryption.p))
        guard keys.keyCheck == encryption.keyCheck else {
            throw BackupError(.passphrase, "wrong passphrase for archive \(archive)")
        }
        return keys
    }
}


extension Backup {
    /// Derives a key with the standard scrypt parameters and a random salt (benchmarks: the
    /// fixed cost every encrypted create, verify and restore pays once).
    public static func deriveKeyCost(passphrase: Passphrase, parameters: ScryptParameters = .standard) throws -> Int {
        _ = try ArchiveKeys(passphrase: passphrase, salt: Hex.random(16), parameters: parameters)
        return Int(parameters.n)
    }
}

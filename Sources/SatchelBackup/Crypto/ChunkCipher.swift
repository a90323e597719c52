import Crypto
import Foundation
import SatchelStore
import SystemPackage

/// AES-256-GCM over fixed-size chunks of the archive body (docs/FORMAT.md, "Backup archives", "Encrypted
/// body"). Chunk `i` (from 0) is sealed with the 12-byte nonce `BE64(i) ‖ 00 00 00 ‖ F`, where
/// F = 1 on the last chunk and 0 otherwise, and with the header MAC as additional
/// authenticated data. The index in the nonce refuses reordered or dropped chunks, the final
/// flag refuses truncation at a chunk boundary, and the header MAC binds every chunk to this
/// archive's header. Nonces never repeat under one key: every archive has its own salt, hence
/// its own key.
struct ChunkCipher: Sendable {
    let key: SymmetricKey
    let aad: [UInt8]
    let chunkSize: Int

    static func nonce(index: UInt64, final: Bool) -> AES.GCM.Nonce {
        var bytes: [UInt8] = []
        BigEndian.append(&bytes, index)
        bytes += [0, 0, 0, final ? 1 : 0]
        return try! AES.GCM.Nonce(data: bytes)  // 12 bytes: always valid
    }

    func seal(_ plaintext: UnsafeRawBufferPointer, index: UInt64, final: Bool) throws -> (ciphertext: Data, tag: Data) {
        let box = try AES.GCM.seal(plaintext, using: key, nonce: Self.nonce(index: index, final: final), authenticating: aad)
        return (box.ciphertext, box.tag)
    }

    func open(_ sealed: UnsafeRawBufferPointer, index: UInt64, final: Bool) throws -> Data {
        let n = sealed.count - ArchiveFormat.tagSize
        do {
            let box = try AES.GCM.SealedBox(nonce: Self.nonce(index: index, final: final),
                                            ciphertext: UnsafeRawBufferPointer(rebasing: sealed[0..<n]),
                                            tag: UnsafeRawBufferPointer(rebasing: sealed[n...]))
            return try AES.GCM.open(box, using: key, authenticating: aad)
        } catch {
            throw BackupError.damaged("encrypted chunk \(index) fails authentication (damaged, reordered, truncated or tampered)")
        }
    }

    /// Number of chunks and plaintext length of an encrypted body of `bodyLength` bytes.
    func layout(bodyLength: Int64) throws -> (chunks: Int64, plaintext: Int64) {
        let sealedChunk = Int64(chunkSize + ArchiveFormat.tagSize)
        let chunks = (bodyLength + sealedChunk - 1) / sealedChunk
        let last = bodyLength - (chunks - 1) * sealedChunk
        guard chunks >= 1, last > Int64(ArchiveFormat.tagSize) else {
            throw BackupError.damaged("encrypted body has an impossible length (truncated)")
        }
        return (chunks, bodyLength - chunks * Int64(ArchiveFormat.tagSize))
    }
}

/// Pulls the plaintext of an encrypted body, one authenticated chunk at a time.
final class DecryptingSource: ByteSource {
    private var body: any ByteSource
    private let cipher: ChunkCipher
    private let chunks: Int64
    private let bodyLength: Int64
    private var nextChunk: Int64 = 0
    private var sealed: [UInt8]
    private var plain = Data()
    private var plainStart = 0
    let plaintextLength: Int64

    /// Decrypts `body`, the `length` bytes of sealed chunks.
    init(_ body: any ByteSource, length: Int64, cipher: ChunkCipher) throws {
        self.body = body
        self.cipher = cipher
        bodyLength = length
        (chunks, plaintextLength) = try cipher.layout(bodyLength: length)
        sealed = [UInt8](repeating: 0, count: cipher.chunkSize + ArchiveFormat.tagSize)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if plainStart == plain.count {
            guard nextChunk < chunks else { return 0 }
            let sealedChunk = Int64(cipher.chunkSize + ArchiveFormat.tagSize)
            let length = Int(min(sealedChunk, bodyLength - nextChunk * sealedChunk))
            let got = try sealed.withUnsafeMutableBytes { try body.readFully(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<length])) }
            guard got == length else { throw BackupError.damaged("archive is truncated inside encrypted chunk \(nextChunk)") }
            plain = try sealed.withUnsafeBytes { raw in
                try cipher.open(UnsafeRawBufferPointer(rebasing: raw[0..<length]), index: UInt64(nextChunk),
                                final: nextChunk == chunks - 1)
            }
            plainStart = 0
            nextChunk += 1
        }
        let n = min(buffer.count, plain.count - plainStart)
        plain.withUnsafeBytes { raw in
            buffer.baseAddress!.copyMemory(from: raw.baseAddress! + plainStart, byteCount: n)
        }
        plainStart += n
        return n
    }
}

import SatchelStore

/// Constants of the backup archive layout (docs/FORMAT.md, "Backup archives"), a
/// ``SealedFile``:
///
/// ```
/// 0      8   magic "SATCHBAK"
/// 8      4   format version = 1
/// 12     4   hash algorithm = 1 (SHA-256)
/// 16     4   header length H
/// 20     H   header: canonical XML, vocabulary urn:satchel:backup:1
/// 20+H   32  header MAC (encrypted archives only): HMAC-SHA256(macKey, bytes [0, 20+H))
/// …          body: the pack (SPAK) as is, or as AES-256-GCM chunks
/// end-32 32  SHA-256 of every preceding byte
/// ```
enum ArchiveFormat {
    static let layout = SealedFile.Layout(name: "backup archive", magic: "SATCHBAK", version: 1, prefixSize: 20)
    static let sha256Code: UInt32 = 1
    static let macSize = 32
    static let tagSize = 16
    static let maxHeaderBytes = 256 << 20
    /// Plaintext bytes per encrypted chunk.
    static let defaultChunkSize = 1 << 20

    static func prefix(headerLength: Int) -> [UInt8] {
        layout.prefix {
            BigEndian.append(&$0, sha256Code)
            BigEndian.append(&$0, UInt32(headerLength))
        }
    }
}

/// Constants and helpers of the pack and pack-index formats (docs/FORMAT.md, "Packs").
enum PackFormat {
    static let packMagic: [UInt8] = Array("SPAK".utf8)
    static let indexMagic: [UInt8] = Array("SIDX".utf8)
    static let version: UInt32 = 1
    /// Hash algorithm code written in headers: 1 = SHA-256.
    static let sha256Code: UInt32 = 1
    static let headerSize = 16
    /// kind (1) + encoding (1) + payload length (8).
    static let entryHeaderSize = 10
    /// object count (8) + SHA-256 of everything before (32).
    static let trailerSize = 40
    static let encodingStored: UInt8 = 0
    static let encodingZlib: UInt8 = 1

    /// Index: header 16, fan-out 256 × 4, then per object 32 (id) + 8 (offset) + 8 (size)
    /// + 4 (crc) in four tables, then 32 (pack checksum) + 32 (index checksum).
    static let fanoutSize = 256 * 4
    static let indexRecordSize = 32 + 8 + 8 + 4

    static func header(magic: [UInt8]) -> [UInt8] {
        var bytes = magic
        appendUInt32(&bytes, version)
        appendUInt32(&bytes, sha256Code)
        appendUInt32(&bytes, 0)
        return bytes
    }

    static func entryHeader(kind: ObjectKind, compressed: Bool, length: UInt64) -> [UInt8] {
        var bytes: [UInt8] = [kind.rawValue, compressed ? encodingZlib : encodingStored]
        appendUInt64(&bytes, length)
        return bytes
    }

    static func appendUInt32(_ bytes: inout [UInt8], _ value: UInt32) { BigEndian.append(&bytes, value) }
    static func appendUInt64(_ bytes: inout [UInt8], _ value: UInt64) { BigEndian.append(&bytes, value) }
    static func readUInt32(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 { BigEndian.uint32(bytes, at: offset) }
    static func readUInt64(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt64 { BigEndian.uint64(bytes, at: offset) }

    /// Checks a 16-byte format header.
    static func checkHeader(_ bytes: UnsafeRawBufferPointer, magic: [UInt8], what: String) throws {
        guard bytes.count >= headerSize, Array(bytes[0..<4]) == magic else {
            throw StoreError(.corrupt, "\(what) does not start with its magic bytes")
        }
        let version = readUInt32(bytes, at: 4)
        guard version == Self.version else {
            throw StoreError(.corrupt, "\(what) has format version \(version); this Satchel reads version \(Self.version)")
        }
        let algorithm = readUInt32(bytes, at: 8)
        guard algorithm == sha256Code else {
            throw StoreError(.corrupt, "\(what) uses hash algorithm \(algorithm); this Satchel knows 1 (sha256)")
        }
    }
}

/// Where one object sits in a pack, as recorded in the index.
struct PackEntryLocation: Sendable {
    var id: ObjectID
    var offset: UInt64
    /// Bytes of the entry: entry header plus encoded payload.
    var size: UInt64
    /// CRC-32 of those bytes.
    var crc: UInt32
}

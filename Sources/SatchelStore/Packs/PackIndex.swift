import Crypto

/// A pack index held in memory: fan-out table, sorted IDs, offsets, entry sizes and CRCs.
/// Loading checks the index's own checksum; lookups are a fan-out step plus binary search.
final class PackIndex: Sendable {
    let bytes: [UInt8]
    let count: Int
    /// The checksum in the pack's trailer, as recorded by the index.
    let packChecksum: [UInt8]

    private var idsStart: Int { PackFormat.headerSize + PackFormat.fanoutSize }
    private var offsetsStart: Int { idsStart + count * 32 }
    private var sizesStart: Int { offsetsStart + count * 8 }
    private var crcsStart: Int { sizesStart + count * 8 }

    /// Parses and checks index bytes; `what` names the file in errors.
    init(bytes: [UInt8], what: String) throws {
        let minimum = PackFormat.headerSize + PackFormat.fanoutSize + 64
        guard bytes.count >= minimum else { throw StoreError(.corrupt, "\(what) is truncated") }
        try bytes.withUnsafeBytes { raw in
            try PackFormat.checkHeader(raw, magic: PackFormat.indexMagic, what: what)
        }
        let body = bytes[0..<(bytes.count - 32)]
        let expected = Array(bytes[(bytes.count - 32)...])
        guard Array(SHA256.hash(data: body)) == expected else {
            throw StoreError(.corrupt, "\(what) fails its checksum")
        }
        let count = bytes.withUnsafeBytes { raw in
            Int(PackFormat.readUInt32(raw, at: PackFormat.headerSize + 255 * 4))
        }
        guard bytes.count == minimum + count * PackFormat.indexRecordSize else {
            throw StoreError(.corrupt, "\(what) has the wrong size for \(count) objects")
        }
        self.bytes = bytes
        self.count = count
        packChecksum = Array(bytes[(bytes.count - 64)..<(bytes.count - 32)])
        try checkTables(what: what)
    }

    /// A checksum proves the index is the one written, not that its numbers are sane: a crafted
    /// index can carry a valid checksum. Every value later used for arithmetic or a read is
    /// checked here once, so lookups and reads can never overflow or index out of bounds.
    private func checkTables(what: String) throws {
        try bytes.withUnsafeBytes { raw in
            var previous: UInt32 = 0
            for key in 0..<256 {
                let value = PackFormat.readUInt32(raw, at: PackFormat.headerSize + key * 4)
                guard value >= previous, Int(value) <= count else {
                    throw StoreError(.corrupt, "\(what) has a damaged fan-out table (entry \(key))")
                }
                previous = value
            }
            for position in 0..<count {
                let offset = PackFormat.readUInt64(raw, at: offsetsStart + position * 8)
                let size = PackFormat.readUInt64(raw, at: sizesStart + position * 8)
                let (end, overflow) = offset.addingReportingOverflow(size)
                guard offset >= UInt64(PackFormat.headerSize), size >= UInt64(PackFormat.entryHeaderSize),
                      !overflow, end <= Self.maximumPackBytes else {
                    throw StoreError(.corrupt,
                                     "\(what) entry \(position) has an impossible offset \(offset) or size \(size)")
                }
            }
        }
    }

    /// No pack may be larger than this (2^62 bytes): every offset + size stays far from
    /// `Int64.max`, so conversions to file offsets cannot trap.
    static let maximumPackBytes: UInt64 = 1 << 62

    /// Checks that every entry lies inside a pack file of `packSize` bytes (before its trailer).
    func checkEntries(fitIn packSize: UInt64, what: String) throws {
        let limit = packSize >= UInt64(PackFormat.trailerSize) ? packSize - UInt64(PackFormat.trailerSize) : 0
        for position in 0..<count {
            let location = entry(at: position)
            guard location.offset + location.size <= limit else {
                throw StoreError(.corrupt, "\(what) entry \(position) (object \(location.id.short)) lies beyond the end of the pack "
                                 + "(offset \(location.offset), size \(location.size), pack \(packSize) bytes)")
            }
        }
    }

    /// Serializes an index for `entries` (any order; sorted here).
    static func encode(entries: [PackEntryLocation], packChecksum: [UInt8]) -> [UInt8] {
        let sorted = entries.sorted { $0.id < $1.id }
        var out = PackFormat.header(magic: PackFormat.indexMagic)
        out.reserveCapacity(out.count + PackFormat.fanoutSize + sorted.count * PackFormat.indexRecordSize + 64)
        var fanout = [UInt32](repeating: 0, count: 256)
        for entry in sorted { fanout[Int(entry.id.firstByte)] += 1 }
        var running: UInt32 = 0
        for i in 0..<256 {
            running += fanout[i]
            PackFormat.appendUInt32(&out, running)
        }
        for entry in sorted { out.append(contentsOf: entry.id.bytes) }
        for entry in sorted { PackFormat.appendUInt64(&out, entry.offset) }
        for entry in sorted { PackFormat.appendUInt64(&out, entry.size) }
        for entry in sorted { PackFormat.appendUInt32(&out, entry.crc) }
        out.append(contentsOf: packChecksum)
        out.append(contentsOf: SHA256.hash(data: out))
        return out
    }

    /// The position of `id` in the sorted tables, if present.
    func position(of id: ObjectID) -> Int? {
        let target = id.bytes
        return bytes.withUnsafeBytes { raw -> Int? in
            let key = Int(target[0])
            let fanoutBase = PackFormat.headerSize
            var low = key == 0 ? 0 : Int(PackFormat.readUInt32(raw, at: fanoutBase + (key - 1) * 4))
            var high = Int(PackFormat.readUInt32(raw, at: fanoutBase + key * 4))
            while low < high {
                let mid = (low + high) / 2
                let base = idsStart + mid * 32
                var order = 0
                for i in 0..<32 where order == 0 {
                    let a = raw[base + i], b = target[i]
                    if a != b { order = a < b ? -1 : 1 }
                }
                if order == 0 { return mid }
                if order < 0 { low = mid + 1 } else { high = mid }
            }
            return nil
        }
    }

    func entry(at position: Int) -> PackEntryLocation {
        bytes.withUnsafeBytes { raw in
            let idBase = idsStart + position * 32
            return PackEntryLocation(
                id: ObjectID(bytes: raw[idBase..<(idBase + 32)])!,
                offset: PackFormat.readUInt64(raw, at: offsetsStart + position * 8),
                size: PackFormat.readUInt64(raw, at: sizesStart + position * 8),
                crc: PackFormat.readUInt32(raw, at: crcsStart + position * 4))
        }
    }

    func entry(for id: ObjectID) -> PackEntryLocation? {
        position(of: id).map(entry(at:))
    }

    var allEntries: [PackEntryLocation] { (0..<count).map(entry(at:)) }
}

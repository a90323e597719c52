// Splicing one deflate stream into another (bundles carry the deflate blocks a pack holds):
// where a stream's blocks lie, and the bit-level seam. Pure bit arithmetic; the zlib calls
// (the block-by-block scan, the sync flush) stay in Zlib.swift.

/// Where the blocks of one deflate stream lie, in bits from its first byte of deflate data
/// (after the zlib header): the first bit of the final block (its BFINAL bit) and the bit after
/// the final block's end-of-block code.
struct DeflateLayout: Equatable {
    var finalBlockBit: UInt64
    var endBit: UInt64
    /// Bytes of deflate data that hold bits before ``endBit``.
    var bytes: UInt64 { (endBit + 7) / 8 }
}

/// Copies the deflate data of a standalone stream into another stream, so that it can be
/// followed by more blocks: the final block's BFINAL bit is cleared, and after its end an empty
/// stored block (3 header bits, padding, `00 00 FF FF`) brings the output back to a byte
/// boundary. Bits after the end in the last byte are zeroed; bytes past it are dropped.
struct DeflateSeam {
    let layout: DeflateLayout
    private var position: UInt64 = 0

    init(_ layout: DeflateLayout) { self.layout = layout }

    mutating func copy(_ bytes: UnsafeRawBufferPointer, to output: (UnsafeRawBufferPointer) throws -> Void) throws {
        let total = layout.bytes
        guard position < total, !bytes.isEmpty else {
            position += UInt64(bytes.count)
            return
        }
        let take = Int(min(UInt64(bytes.count), total - position))
        let start = position
        let finalByte = layout.finalBlockBit / 8
        let lastByte = total - 1
        let touchesFinal = finalByte >= start && finalByte < start + UInt64(take)
        let touchesLast = lastByte < start + UInt64(take) && layout.endBit % 8 != 0
        position += UInt64(bytes.count)
        if !touchesFinal && !touchesLast {
            try output(UnsafeRawBufferPointer(rebasing: bytes[0..<take]))
            return
        }
        var edited = Array(bytes[0..<take])
        if touchesFinal {
            edited[Int(finalByte - start)] &= ~(UInt8(1) << UInt8(layout.finalBlockBit % 8))
        }
        if touchesLast {
            edited[Int(lastByte - start)] &= UInt8((1 << Int(layout.endBit % 8)) - 1)
        }
        try edited.withUnsafeBytes { try output($0) }
    }

    /// Ends the copied blocks with an empty, non-final stored block.
    func close(to output: (UnsafeRawBufferPointer) throws -> Void) throws {
        precondition(position >= layout.bytes, "DeflateSeam closed before all of its deflate data was copied")
        // The stored block's 3 header bits (BFINAL 0, BTYPE 00) fit in the last byte when at
        // least 3 of its bits are unused; else they start a new (zero) byte. Then LEN and NLEN.
        let used = Int(layout.endBit % 8)
        let tail: [UInt8] = (used == 0 || used > 5 ? [0x00] : []) + [0x00, 0x00, 0xFF, 0xFF]
        try tail.withUnsafeBytes { try output($0) }
    }
}

/// Decides, cheaply, whether a payload is worth deflating.
///
/// Already-compressed formats (JPEG, PNG, ZIP and Office files, gzip, PDF streams, video) gain
/// nothing from zlib but cost ~57 MB/s of CPU on it. The policy sniffs well-known magic numbers
/// and otherwise deflates a sample (the first 64 KiB) at level 1: if that does not shrink it
/// below 90%, the object is stored as-is.
public struct CompressionPolicy: Sendable {
    /// Payloads shorter than this are always stored (zlib's 6-byte frame would not pay off).
    public var minimumLength: Int = 64
    /// How many leading bytes the sample test looks at.
    public var sampleLength: Int = 64 * 1024
    /// Compressed/original ratio at or above which a sample counts as incompressible.
    public var incompressibleRatio: Double = 0.9
    /// zlib level used for objects that are compressed.
    public var level: Int32 = 1

    /// The default policy: level 1, sample test on the first 64 KiB, payloads under 64 bytes stored.
    public init() {}

    /// A policy that never compresses: every object is stored as-is (encoding 0). For packs
    /// that travel inside a stream compressed as a whole (bundles).
    public static var never: CompressionPolicy {
        var policy = CompressionPolicy()
        policy.minimumLength = Int.max
        return policy
    }

    /// False for ``never``.
    var compresses: Bool { minimumLength != Int.max }

    /// Leading bytes of formats that are compressed already.
    static let compressedMagics: [[UInt8]] = [
        [0xFF, 0xD8, 0xFF],                    // JPEG
        [0x89, 0x50, 0x4E, 0x47],              // PNG
        [0x47, 0x49, 0x46, 0x38],              // GIF
        [0x50, 0x4B, 0x03, 0x04],              // ZIP, DOCX/XLSX/PPTX, JAR
        [0x1F, 0x8B],                          // gzip
        [0x28, 0xB5, 0x2F, 0xFD],              // zstd
        [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00],  // xz
        [0x42, 0x5A, 0x68],                    // bzip2
        [0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C],  // 7z
        [0x1A, 0x45, 0xDF, 0xA3],              // Matroska/WebM
        [0x4F, 0x67, 0x67, 0x53],              // Ogg
    ]

    /// True if the leading bytes name a format that is compressed already.
    static func hasCompressedMagic(_ sample: UnsafeRawBufferPointer) -> Bool {
        for magic in compressedMagics where sample.count >= magic.count {
            if zip(magic, sample).allSatisfy({ $0 == $1 }) { return true }
        }
        // ISO base media (MP4, MOV, HEIC, AVIF): "ftyp" at offset 4.
        if sample.count >= 8, sample[4] == 0x66, sample[5] == 0x74, sample[6] == 0x79,
           sample[7] == 0x70 {
            return true
        }
        // RIFF....WEBP
        if sample.count >= 12, sample[0] == 0x52, sample[1] == 0x49, sample[2] == 0x46,
           sample[3] == 0x46, sample[8] == 0x57, sample[9] == 0x45, sample[10] == 0x42,
           sample[11] == 0x50 {
            return true
        }
        return false
    }

    /// Decides from the payload's first bytes (up to ``sampleLength``) and its total length.
    /// `scratch` is a reusable deflater for the sample test.
    func shouldCompress(sample: UnsafeRawBufferPointer, totalLength: UInt64,
                        scratch: Deflater) -> Bool {
        if totalLength < UInt64(minimumLength) { return false }
        if Self.hasCompressedMagic(sample) { return false }
        let probe = UnsafeRawBufferPointer(rebasing: sample.prefix(sampleLength))
        guard let compressed = try? scratch.compressAll(probe) else { return false }
        return Double(compressed.count) < Double(probe.count) * incompressibleRatio
    }
}

/// The policy's incompressibility test for callers outside the store (who have no
/// `Deflater`): one reusable scratch deflater for the sample test.
public final class CompressionProbe {
    /// The policy whose test this probe runs.
    public let policy: CompressionPolicy
    private lazy var scratch = Deflater(level: policy.level, outputCapacity: 64 * 1024)

    /// A probe for `policy`.
    public init(policy: CompressionPolicy = CompressionPolicy()) { self.policy = policy }

    /// Whether the policy would deflate a payload of `totalLength` bytes starting with `sample`
    /// (magic numbers first, then a level-1 deflate of up to ``CompressionPolicy/sampleLength``).
    public func shouldCompress(sample: UnsafeRawBufferPointer, totalLength: UInt64) -> Bool {
        if totalLength < UInt64(policy.minimumLength) || CompressionPolicy.hasCompressedMagic(sample) { return false }
        return policy.shouldCompress(sample: sample, totalLength: totalLength, scratch: scratch)
    }
}

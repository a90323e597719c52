/// Limits the hardened parser enforces while it reads, so that hostile input is refused early and
/// in bounded memory. Each exceeded limit is a ``ManifestError`` with its own code.
public struct ParseLimits: Sendable, Equatable {
    /// Total input size in bytes (counted as the stream is fed, before libxml2 buffers more).
    public var maxInputBytes: Int
    /// Element nesting depth (the root is depth 1).
    public var maxDepth: Int
    /// Number of elements in the document.
    public var maxElements: Int
    /// Attributes on one element.
    public var maxAttributes: Int
    /// Length of one attribute value, in UTF-8 bytes.
    public var maxAttributeLength: Int
    /// Length of one run of text (between two tags), in UTF-8 bytes.
    public var maxTextLength: Int

    /// Limits with these values; the defaults are ``default``.
    public init(maxInputBytes: Int = 32 << 20, maxDepth: Int = 32, maxElements: Int = 1_000_000,
                maxAttributes: Int = 32, maxAttributeLength: Int = 64 << 10,
                maxTextLength: Int = 1 << 20) {
        self.maxInputBytes = maxInputBytes
        self.maxDepth = maxDepth
        self.maxElements = maxElements
        self.maxAttributes = maxAttributes
        self.maxAttributeLength = maxAttributeLength
        self.maxTextLength = maxTextLength
    }

    /// 32 MiB input, depth 32, a million elements, 32 attributes of at most 64 KiB, text runs of
    /// at most 1 MiB. A 10,000-patient directory is about 2 MiB.
    public static let `default` = ParseLimits()
}

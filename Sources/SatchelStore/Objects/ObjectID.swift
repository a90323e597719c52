import Crypto

/// A content address: SHA-256 over `"<kind> <length>\0" + payload`.
///
/// The text form is `sha256:<64 lowercase hex>`; that is how IDs appear in XML manifests, refs
/// and tool output. IDs order bytewise, which is the order of pack indexes.
public struct ObjectID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The hash algorithm's name as it appears in text forms and format headers.
    public static let algorithm = "sha256"
    /// Length of the raw digest in bytes.
    public static let byteCount = 32

    // Four big-endian words: comparing them in order is comparing the bytes.
    @usableFromInline let w0, w1, w2, w3: UInt64

    /// Creates an ID from exactly 32 raw digest bytes.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        var words: [UInt64] = [0, 0, 0, 0]
        for (i, byte) in bytes.enumerated() {
            words[i >> 3] = (words[i >> 3] << 8) | UInt64(byte)
        }
        (w0, w1, w2, w3) = (words[0], words[1], words[2], words[3])
    }

    /// Creates an ID from a finished SHA-256 digest.
    public init(digest: SHA256.Digest) {
        self = digest.withUnsafeBytes { ObjectID(bytes: $0)! }
    }

    /// Parses `sha256:<64 hex>` (lowercase or uppercase hex accepted, lowercase written).
    public init?(_ text: some StringProtocol) {
        let prefix = Self.algorithm + ":"
        guard text.hasPrefix(prefix) else { return nil }
        self.init(hex: text.dropFirst(prefix.count))
    }

    /// Parses 64 hex digits with no prefix.
    public init?(hex: some StringProtocol) {
        guard hex.utf8.count == 64, let raw = Hex.decode(hex) else { return nil }
        self.init(bytes: raw)
    }

    /// The 32 raw digest bytes.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        for word in [w0, w1, w2, w3] {
            for shift in stride(from: 56, through: 0, by: -8) {
                out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift)))
            }
        }
        return out
    }

    /// The first digest byte (the pack index fan-out key and the loose fan-out directory).
    public var firstByte: UInt8 { UInt8(truncatingIfNeeded: w0 >> 56) }

    /// 64 lowercase hex digits.
    public var hex: String { Hex.encode(bytes) }

    /// `sha256:<hex>`.
    public var description: String { Self.algorithm + ":" + hex }

    /// A short form for human output: `sha256:` plus the first 12 hex digits.
    public var short: String { Self.algorithm + ":" + String(hex.prefix(12)) }

    public static func < (a: ObjectID, b: ObjectID) -> Bool {
        (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
    }

    /// Hashes an in-memory payload the way the store does.
    public static func compute(kind: ObjectKind, payload: UnsafeRawBufferPointer) -> ObjectID {
        var hasher = ObjectHasher(kind: kind, length: UInt64(payload.count))
        hasher.update(payload)
        return hasher.finalize()
    }

    /// Hashes an in-memory payload the way the store does.
    public static func compute(kind: ObjectKind, payload: [UInt8]) -> ObjectID {
        payload.withUnsafeBytes { compute(kind: kind, payload: $0) }
    }
}

/// Incremental object hashing: feed the payload as it streams, get the ``ObjectID`` at the end.
public struct ObjectHasher: Sendable {
    private var sha = SHA256()
    /// Kind of the object being hashed.
    public let kind: ObjectKind
    /// Payload length announced in the object header.
    public let length: UInt64
    /// Payload bytes hashed so far.
    public private(set) var consumed: UInt64 = 0

    /// Starts hashing an object of `kind` whose payload is `length` bytes (hashes the header).
    public init(kind: ObjectKind, length: UInt64) {
        self.kind = kind
        self.length = length
        sha.update(data: kind.header(length: length))
    }

    /// Hashes the next payload bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        consumed += UInt64(bytes.count)
        sha.update(bufferPointer: bytes)
    }

    /// Hashes the next payload bytes.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The ID. Callers check ``consumed`` == ``length`` first; a mismatch means the source
    /// changed size while it was read.
    public func finalize() -> ObjectID {
        ObjectID(digest: sha.finalize())
    }
}

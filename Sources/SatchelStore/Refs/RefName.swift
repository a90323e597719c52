/// A validated ref name: slash-separated components such as `threads/T-1f3a` or
/// `drafts/D-9c`. Components use `[A-Za-z0-9._-]`, do not start with a dot and do not end in
/// `.lock` or `.tmp`, so a hostile name can never leave `refs/` or collide with lock files.
public struct RefName: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The name, e.g. `threads/T-1f3a`.
    public let rawValue: String
    /// Longest name in bytes.
    public static let maxLength = 200
    /// Most components.
    public static let maxDepth = 4

    /// Validates `text`; `.invalidArgument` when it is not a safe ref name.
    public init(_ text: String) throws {
        guard !text.isEmpty, text.utf8.count <= Self.maxLength else {
            throw StoreError(.invalidArgument, "ref name must be 1 to \(Self.maxLength) bytes")
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= Self.maxDepth else {
            throw StoreError(.invalidArgument, "ref name has more than \(Self.maxDepth) components")
        }
        for part in parts {
            guard !part.isEmpty, part.first != ".", !part.hasSuffix(".lock"), !part.hasSuffix(".tmp"),
                  part.utf8.allSatisfy(Self.allowed) else {
                throw StoreError(.invalidArgument,
                                 "ref name component is empty, starts with a dot, ends in .lock/.tmp or has a character outside [A-Za-z0-9._-]")
            }
        }
        rawValue = text
    }

    private static func allowed(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2E, 0x5F, 0x2D: true
        default: false
        }
    }

    public var description: String { rawValue }
    public static func < (a: RefName, b: RefName) -> Bool { a.rawValue < b.rawValue }
}

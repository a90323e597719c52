/// The kinds of objects the store holds. The kind is part of the hashed header, so a blob and a
/// manifest with the same bytes have different IDs.
public enum ObjectKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Raw content: message bodies, attachments.
    case blob = 1
    /// An XML manifest (thread, message, draft, envelope, directory, ...).
    case manifest = 2

    /// The name written in the object header (`"blob"`, `"manifest"`).
    public var name: String {
        switch self {
        case .blob: "blob"
        case .manifest: "manifest"
        }
    }

    public var description: String { name }

    /// Parses a header name.
    public init?(name: some StringProtocol) {
        switch name {
        case "blob": self = .blob
        case "manifest": self = .manifest
        default: return nil
        }
    }

    /// The header that prefixes the payload for hashing and in loose objects:
    /// `"<kind> <decimal length>\0"`.
    public func header(length: UInt64) -> [UInt8] {
        var bytes = Array(name.utf8)
        bytes.append(0x20)
        bytes.append(contentsOf: String(length).utf8)
        bytes.append(0)
        return bytes
    }
}

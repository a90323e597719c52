import SatchelStore

/// The HTTP sync protocol, version 1 (docs/FORMAT.md, "HTTP sync"): paths, headers, media types and
/// limits shared by the server (`satchel serve`) and the client (`satchel sync URL`).
public enum HTTPSyncProtocol {
    /// The protocol version both sides must speak (`hello`'s `protocol`).
    public static let version = 1

    /// Endpoint paths (docs/FORMAT.md, "HTTP sync", "Endpoints").
    public enum Path {
        /// `GET`: the portal's replica ID, role, token label and limits (JSON).
        public static let hello = "/v1/hello"
        /// `POST` an object list: the listed IDs the portal holds.
        public static let have = "/v1/have"
        /// `POST` a bundle for the portal: applied as `bundle apply` does.
        public static let push = "/v1/push"
        /// `POST`: every object a bundle for the calling replica would carry now.
        public static let offer = "/v1/offer"
        /// `POST` the IDs the caller holds: the portal's bundle for it, without them.
        public static let pull = "/v1/pull"
        /// `POST` a bundle: push and pull in one request, without have-lists.
        public static let sync = "/v1/sync"
    }

    /// Satchel's own HTTP header fields.
    public enum Header {
        /// The requesting replica's ID (offer, pull).
        public static let replica = "Satchel-Replica"
        /// The requesting replica's role, `workstation` or `portal` (offer, pull).
        public static let role = "Satchel-Role"
        /// Threads, objects and bytes of a bundle in a response body (pull, sync).
        public static let threads = "Satchel-Threads"
        /// Objects of the bundle in a response body (pull, sync).
        public static let objects = "Satchel-Objects"
    }

    /// Content types of request and response bodies.
    public enum MediaType {
        /// A bundle file (docs/FORMAT.md, "Bundles").
        public static let bundle = "application/vnd.satchel.bundle"
        /// An ``IDList``.
        public static let objectIDs = "application/vnd.satchel.object-ids"
        /// `hello` and apply results.
        public static let json = "application/json"
        /// Error messages: one line of text.
        public static let text = "text/plain; charset=utf-8"
    }

    /// Limits both sides enforce.
    public struct Limits: Sendable, Equatable {
        /// Largest bundle in a request or response body.
        public var maxBundleBytes: UInt64 = 4 << 30
        /// Most object IDs in one list (have request and response, pull request); offers may be
        /// longer and are bounded by ``maxOfferBytes``.
        public var maxListEntries = 100_000
        /// Largest offer response the client reads.
        public var maxOfferBytes = 128 << 20
        /// Longest `Authorization` header value looked at.
        public var maxAuthorizationBytes = 512

        /// The default limits.
        public init() {}

        /// Bytes of a list of `maxListEntries` IDs.
        public var maxListBytes: Int { maxListEntries * IDList.lineLength }
    }
}

/// A list of object IDs: one `sha256:<64 lowercase hex>` per line, each ending in `\n`.
public enum IDList {
    /// Bytes per line: `sha256:` (7), 64 hex digits and `\n`.
    public static let lineLength = 72

    /// The list of `ids`, in order.
    public static func encode(_ ids: some Sequence<ObjectID>) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids {
            out.append(contentsOf: id.description.utf8)
            out.append(0x0A)
        }
        return out
    }

    /// Parses a list; nil if any line is not an object ID (or the last one lacks its newline).
    public static func decode(_ bytes: [UInt8]) -> [ObjectID]? {
        guard bytes.count % lineLength == 0 else { return nil }
        var ids: [ObjectID] = []
        ids.reserveCapacity(bytes.count / lineLength)
        var start = 0
        while start < bytes.count {
            let line = bytes[start..<(start + lineLength)]
            guard line.last == 0x0A, let id = ObjectID(String(decoding: line.dropLast(), as: UTF8.self)) else { return nil }
            ids.append(id)
            start += lineLength
        }
        return ids
    }
}

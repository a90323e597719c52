import SatchelStore

/// The HTTP sync protocol, version 1 (docs/FORMAT.md, "HTTP sync"): paths, headers, media types and
/// limits shared by the server (`satchel serve`) and the client (`satchel sync URL`).
public enum HTTPSyncProtocol {
    public static let version = 1

    public enum Path {
        public static let hello = "/v1/hello"
        public static let have = "/v1/have"
        public static let push = "/v1/push"
        public static let offer = "/v1/offer"
        public static let pull = "/v1/pull"
        public static let sync = "/v1/sync"
    }

    public enum Header {
        /// The requesting replica's ID (offer, pull).
        public static let replica = "Satchel-Replica"
        /// The requesting replica's role, `workstation` or `portal` (offer, pull).
        public static let role = "Satchel-Role"
        /// Threads, objects and bytes of a bundle in a response body (pull, sync).
        public static let threads = "Satchel-Threads"
        public static let objects = "Satchel-Objects"
    }

    public enum MediaType {
        public static let bundle = "application/vnd.satchel.bundle"
        public static let objectIDs = "application/vnd.satchel.object-ids"
        public static let json = "application/json"
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

        public init() {}

        /// Bytes of a list of `maxListEntries` IDs.
        public var maxListBytes: Int { maxListEntries * IDList.lineLength }
    }
}

/// A list of object IDs: one `sha256:<64 lowercase hex>` per line, each ending in `\n`.
public enum IDList {
    public static let lineLength = 72

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

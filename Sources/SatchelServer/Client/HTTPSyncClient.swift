import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelSync

/// `satchel sync URL`: a workstation's two-way exchange with a portal's `satchel serve`.
///
/// 1. `GET /v1/hello`: the portal's replica ID and role.
/// 2. `POST /v1/have`: which objects of our outgoing bundle the portal already holds.
/// 3. `POST /v1/push`: our bundle, without those objects; the portal applies it.
/// 4. `POST /v1/offer`: the objects the portal's bundle for us would carry.
/// 5. `POST /v1/pull` with the offered objects we already hold: the portal's bundle, applied here.
///
/// Checkpoints make a second exchange with no changes small; the have-lists keep content the
/// other side already holds (attachments, earlier messages of a changed thread) off the wire.
public struct HTTPSyncClient: Sendable {
    /// The workstation store that syncs.
    public let repository: Repository
    /// The portal's `satchel serve` URL.
    public let endpoint: SyncEndpoint
    let token: String
    /// Limits this client enforces on what the portal sends.
    public var limits = HTTPSyncProtocol.Limits()
    /// A request fails (``HTTPSyncError/Code/transport``, exit 74) when no byte has moved either
    /// way for this long; nothing received in that exchange is applied.
    public var timeout: Duration = HTTPConnection.defaultIdleTimeout

    /// A client for the portal at `url` (`http://HOST[:PORT][/PATH]`) with a token from
    /// `satchel replica register` (surrounding whitespace ignored). Throws
    /// ``HTTPSyncError/Code/usage`` for a malformed URL or token; nothing is sent yet.
    public init(repository: Repository, url: String, token: String) throws {
        let token = token.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, token.utf8.count <= ReplicaTokens.maxPresentedLength,
              token.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw HTTPSyncError(.usage, "the token is empty or malformed (it is the \"token\" printed by satchel replica register on the portal)")
        }
        self.repository = repository
        endpoint = try SyncEndpoint(url)
        self.token = token
    }

    /// The portal's answer to `GET /v1/hello`.
    public struct Hello: Decodable, Sendable {
        /// The sync protocol version it speaks (``HTTPSyncProtocol/version``).
        public var `protocol`: Int
        /// The portal's replica ID.
        public var replica: String
        /// The portal's role (`portal`).
        public var role: String
        /// The label the token was registered under.
        public var name: String
        /// Largest bundle it accepts or sends.
        public var maxBundleBytes: UInt64
        /// Most object IDs it accepts in one list.
        public var maxListEntries: Int
    }

    var connection: HTTPConnection {
        var connection = HTTPConnection(endpoint: endpoint)
        connection.idleTimeout = timeout
        return connection
    }
    var auth: (String, String) { ("Authorization", "Bearer " + token) }

    /// Who the portal is.
    public func hello() async throws -> Hello {
        let result = try await connection.send(.GET, HTTPSyncProtocol.Path.hello, headers: [auth], into: .memory(limit: 64 << 10))
        try check(result, HTTPSyncProtocol.Path.hello)
        do {
            return try JSONDecoder().decode(Hello.self, from: Data(result.body))
        } catch {
            throw HTTPSyncError(.badInput, "\(endpoint.display)\(HTTPSyncProtocol.Path.hello) did not answer as a Satchel portal")
        }
    }

    /// The whole exchange; returns what went each way (docs/CLI.md `sync`).
    public func sync() async throws -> (sent: TransferSummary, received: TransferSummary) {
        let result = try await exchange()
        return (result.sent, result.received)
    }

    /// The whole exchange, with the messages either apply quarantined. A push that the portal
    /// refuses for a missing prerequisite (409: it lacks something an incremental bundle
    /// assumed) is sent again as a full bundle, so a sync always makes progress.
    public func exchange() async throws -> (sent: TransferSummary, received: TransferSummary, quarantined: [Quarantined]) {
        let hello = try await hello()
        guard hello.protocol == HTTPSyncProtocol.version else {
            throw HTTPSyncError(.badInput, "\(endpoint.display) speaks sync protocol \(hello.protocol); this build speaks \(HTTPSyncProtocol.version)")
        }
        guard let role = StoreConfig.Role(rawValue: hello.role) else {
            throw HTTPSyncError(.badInput, "\(endpoint.display) reports an unknown role \(hello.role)")
        }
        guard hello.replica != repository.replica else {
            throw HTTPSyncError(.badInput, "\(endpoint.display) serves this very store (replica \(hello.replica))")
        }
        let engine = SyncEngine(repository)
        let store = repository.store
        let portal = hello.replica
        let listLimit = max(1, min(limits.maxListEntries, hello.maxListEntries))
        let bundleLimit = min(limits.maxBundleBytes, hello.maxBundleBytes)

        // What the portal already holds of what we would send.
        let candidates = try await Self.offload { try engine.offer(for: portal, targetRole: role) }
        var held = Set<ObjectID>()
        var start = 0
        while start < candidates.count {
            let chunk = candidates[start..<min(start + listLimit, candidates.count)]
            let result = try await connection.send(.POST, HTTPSyncProtocol.Path.have,
                                                   headers: [auth, ("Content-Type", HTTPSyncProtocol.MediaType.objectIDs)],
                                                   body: .bytes(IDList.encode(chunk)), into: .memory(limit: limits.maxListBytes))
            try check(result, HTTPSyncProtocol.Path.have)
            guard let ids = IDList.decode(result.body) else {
                throw HTTPSyncError(.badInput, "\(endpoint.display)\(HTTPSyncProtocol.Path.have) answered with a malformed object list")
            }
            held.formUnion(ids)
            start += listLimit
        }

        // Push.
        let outgoing = store.scratchPath("http-push-", suffix: ".bundle")
        defer { try? LocalFiles.remove(outgoing) }
        let known = held
        var sent = TransferSummary()
        var pushed: HTTPConnection.Result?
        for full in [false, true] {
            try? LocalFiles.remove(outgoing)
            let bundle = try await Self.offload {
                try engine.createBundle(for: portal, targetRole: role, to: outgoing, targetHas: { known.contains($0) }, full: full)
            }
            sent = bundle
            guard bundle.bytes <= bundleLimit else {
                throw HTTPSyncError(.badInput, "the bundle for \(endpoint.display) is \(bundle.bytes) bytes, over the limit of \(bundleLimit); sync with bundle files instead")
            }
            let answer = try await connection.send(.POST, HTTPSyncProtocol.Path.push,
                                                   headers: [auth, ("Content-Type", HTTPSyncProtocol.MediaType.bundle)],
                                                   body: .file(outgoing, length: bundle.bytes), into: .memory(limit: 64 << 10))
            if answer.status == 409, !full { continue }
            pushed = answer
            break
        }
        guard let pushed else { throw HTTPSyncError(.transport, "\(endpoint.display) gave no answer to the push") }
        try check(pushed, HTTPSyncProtocol.Path.push)
        var quarantined = (try? JSONDecoder().decode(PushResult.self, from: Data(pushed.body)))?.quarantined.map {
            Quarantined(thread: $0.thread, message: $0.message, reason: $0.reason)
        } ?? []

        // Offer, then pull without what we hold.
        let peerHeaders = [auth, (HTTPSyncProtocol.Header.replica, repository.replica),
                           (HTTPSyncProtocol.Header.role, repository.role.rawValue)]
        let offered = try await connection.send(.POST, HTTPSyncProtocol.Path.offer, headers: peerHeaders,
                                                into: .memory(limit: limits.maxOfferBytes))
        try check(offered, HTTPSyncProtocol.Path.offer)
        guard let offer = IDList.decode(offered.body) else {
            throw HTTPSyncError(.badInput, "\(endpoint.display)\(HTTPSyncProtocol.Path.offer) answered with a malformed object list")
        }
        let mine = Array(offer.lazy.filter { store.contains($0) }.prefix(listLimit))
        let incoming = store.scratchPath("http-pull-", suffix: ".bundle")
        defer { try? LocalFiles.remove(incoming) }
        let pulled = try await connection.send(.POST, HTTPSyncProtocol.Path.pull,
                                               headers: peerHeaders + [("Content-Type", HTTPSyncProtocol.MediaType.objectIDs)],
                                               body: .bytes(IDList.encode(mine)), into: .file(incoming, limit: bundleLimit))
        try check(pulled, HTTPSyncProtocol.Path.pull)
        let applied = try await Self.offload { try engine.applyBundle(incoming) }
        quarantined += applied.quarantined
        var received = TransferSummary()
        received.threads = pulled.headers.first(name: HTTPSyncProtocol.Header.threads).flatMap { Int($0) } ?? 0
        received.objects = pulled.headers.first(name: HTTPSyncProtocol.Header.objects).flatMap { Int($0) } ?? 0
        received.bytes = pulled.bytes
        return (sent, received, quarantined)
    }

    /// Turns a non-200 answer into an error carrying the server's one-line reason.
    func check(_ result: HTTPConnection.Result, _ path: String) throws {
        guard result.status != 200 else { return }
        let reason = String(decoding: result.body.prefix(1024), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let text = "\(endpoint.display)\(path) answered \(result.status)\(reason.isEmpty ? "" : ": " + reason)"
        switch result.status {
        case 401, 403: throw HTTPSyncError(.unauthorized, text)
        case 422: throw HTTPSyncError(.refused, text)
        case 400, 409, 413: throw HTTPSyncError(.badInput, text)
        default: throw HTTPSyncError(.transport, text)
        }
    }

    /// Store work off the cooperative threads.
    static func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}

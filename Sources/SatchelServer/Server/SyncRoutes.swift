import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelSync
import SystemPackage

/// The endpoints of HTTP sync v1. Each handler authenticates first (401 before any body byte
/// is read), does its store work on NIO's thread pool, and answers errors with one text line.
struct SyncRoutes: Sendable {
    let repository: Repository
    let limits: HTTPSyncProtocol.Limits
    let logger: Logger
    /// Where blocking store work runs (``SyncServer/Configuration/threadPool``).
    let pool: NIOThreadPool
    let gate = AsyncGate()

    var engine: SyncEngine { SyncEngine(repository) }
    var tokens: ReplicaTokens { ReplicaTokens(repository) }

    func register(on router: Router<SyncRequestContext>) {
        router.get(RouterPath(HTTPSyncProtocol.Path.hello)) { request, _ in await respond(request) { try await hello($0) } }
        router.post(RouterPath(HTTPSyncProtocol.Path.have)) { request, context in
            await respond(request) { try await have(BodyReader(request, context), $0) }
        }
        router.post(RouterPath(HTTPSyncProtocol.Path.push)) { request, context in
            await respond(request) { try await push(request, BodyReader(request, context), $0) }
        }
        router.post(RouterPath(HTTPSyncProtocol.Path.offer)) { request, _ in await respond(request) { try await offer(request, $0) } }
        router.post(RouterPath(HTTPSyncProtocol.Path.pull)) { request, context in
            await respond(request) { try await pull(request, BodyReader(request, context), $0) }
        }
        router.post(RouterPath(HTTPSyncProtocol.Path.sync)) { request, context in
            await respond(request) { try await sync(request, BodyReader(request, context), $0) }
        }
    }

    // MARK: Endpoints

    struct Hello: Encodable {
        var `protocol`: Int
        var replica, role, name: String
        var maxBundleBytes: UInt64
        var maxListEntries: Int
    }

    /// `GET /v1/hello`: who this portal is, and the limits in force.
    func hello(_ token: ReplicaToken) async throws -> Response {
        let body = Hello(protocol: HTTPSyncProtocol.version, replica: repository.replica, role: repository.role.rawValue,
                         name: token.name, maxBundleBytes: limits.maxBundleBytes, maxListEntries: limits.maxListEntries)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Self.bytes(.ok, HTTPSyncProtocol.MediaType.json, Array(try encoder.encode(body)) + [0x0A])
    }

    /// `POST /v1/have`: which of the listed objects this store holds.
    func have(_ body: BodyReader, _ token: ReplicaToken) async throws -> Response {
        let ids = try await readList(body)
        let store = repository.store
        let held = try await pool.runIfActive { ids.filter { store.contains($0) } }
        return Self.bytes(.ok, HTTPSyncProtocol.MediaType.objectIDs, IDList.encode(held))
    }

    /// `POST /v1/push`: verify and apply the workstation's bundle; JSON result.
    func push(_ request: Request, _ body: BodyReader, _ token: ReplicaToken) async throws -> Response {
        try await withSpooledBundle(request, body) { path in
            let result = try await gate.withGate { try await apply(path, token: token) }
            let json = try JSONEncoder().encode(PushResult(result))
            return Self.bytes(.ok, HTTPSyncProtocol.MediaType.json, Array(json) + [0x0A])
        }
    }

    /// `POST /v1/offer`: the objects a pull would carry now if the caller held none of them.
    func offer(_ request: Request, _ token: ReplicaToken) async throws -> Response {
        let (replica, role) = try await peer(request, token)
        let engine = self.engine
        let ids = try await gate.withGate {
            try await pool.runIfActive { try engine.offer(for: replica, targetRole: role) }
        }
        return Self.bytes(.ok, HTTPSyncProtocol.MediaType.objectIDs, IDList.encode(ids))
    }

    /// `POST /v1/pull`: this store's bundle for the caller, leaving out the objects listed in
    /// the body (those the caller holds).
    func pull(_ request: Request, _ body: BodyReader, _ token: ReplicaToken) async throws -> Response {
        let (replica, role) = try await peer(request, token)
        let held = Set(try await readList(body))
        return try await bundleResponse(for: replica, role: role, held: held)
    }

    /// `POST /v1/sync`: push and pull in one request (no have-lists): the body is the caller's
    /// bundle, the response this store's bundle for the bundle's source.
    func sync(_ request: Request, _ body: BodyReader, _ token: ReplicaToken) async throws -> Response {
        try await withSpooledBundle(request, body) { path in
            let header = try await gate.withGate { () -> BundleHeader in
                _ = try await apply(path, token: token)
                return try await pool.runIfActive { [engine] in try engine.bundleHeader(path) }
            }
            return try await bundleResponse(for: header.source, role: header.sourceRole, held: [])
        }
    }

    // MARK: Steps

    /// Verifies and applies a spooled bundle from the token's replica. Authorization is decided
    /// once, atomically with the apply: right before anything is committed the tokens lock is
    /// taken and the token re-checked (still registered, not revoked, bound to the bundle's
    /// source or bindable to it); the lock is held until the apply has returned, so a revoke or
    /// a competing claim lands entirely before (nothing changes, 403) or after the apply.
    func apply(_ path: String, token: ReplicaToken) async throws -> ApplyResult {
        let engine = self.engine
        let tokens = self.tokens
        return try await pool.runIfActive {
            let header = try engine.bundleHeader(path)
            if let bound = token.replica, bound != header.source {
                throw Problem(.forbidden, "token \(token.name) belongs to replica \(bound), but the bundle comes from \(header.source)")
            }
            try engine.checkHeadTargets(header)
            var lock: LeaseLock?
            defer { lock?.release() }
            return try engine.applyBundle(path, beforeCommit: {
                lock = try tokens.lock()
                try tokens.claim(token, as: header.source)
            })
        }
    }

    /// A streamed bundle response, made in a temporary file removed once sent.
    func bundleResponse(for replica: String, role: StoreConfig.Role?, held: Set<ObjectID>) async throws -> Response {
        let engine = self.engine
        let path = temporaryPath("out")
        let summary = try await gate.withGate {
            try await pool.runIfActive {
                try engine.createBundle(for: replica, targetRole: role, to: path, targetHas: { held.contains($0) })
            }
        }
        guard summary.bytes <= limits.maxBundleBytes else {
            try? LocalFiles.remove(path)
            throw Problem(.contentTooLarge, "the bundle for \(replica) would be \(summary.bytes) bytes, over the limit of \(limits.maxBundleBytes)")
        }
        var headers = HTTPFields()
        headers[.contentType] = HTTPSyncProtocol.MediaType.bundle
        headers[Self.field(HTTPSyncProtocol.Header.threads)] = String(summary.threads)
        headers[Self.field(HTTPSyncProtocol.Header.objects)] = String(summary.objects)
        return Response(status: .ok, headers: headers, body: ResponseBody(contentLength: Int(summary.bytes)) { writer in
            defer { try? LocalFiles.remove(path) }
            let fd = try SystemPackage.FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
            defer { try? fd.close() }
            while true {
                var buffer = ByteBufferAllocator().buffer(capacity: 256 << 10)
                let n = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 256 << 10) { try fd.read(into: $0) }
                if n == 0 { break }
                try await writer.write(buffer)
            }
            try await writer.finish(nil)
        })
    }

    /// Streams the request body into a temporary file (bounded), runs `body` on it, removes it.
    func withSpooledBundle(_ request: Request, _ reader: BodyReader, _ body: (String) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(UInt64.init), length > limits.maxBundleBytes {
            throw Problem(.contentTooLarge, "the bundle is \(length) bytes, over the limit of \(limits.maxBundleBytes)")
        }
        let path = temporaryPath("in")
        defer { try? LocalFiles.remove(path) }
        let fd = try SystemPackage.FileDescriptor.open(FilePath(path), .writeOnly, options: [.create, .exclusiveCreate, .closeOnExec],
                                         permissions: [.ownerReadWrite])
        var isOpen = true  // a failed close still releases the descriptor on Linux: never close twice
        do {
            var total: UInt64 = 0
            var chunks = reader
            while let buffer = try await chunks.next() {
                total += UInt64(buffer.readableBytes)
                guard total <= limits.maxBundleBytes else {
                    throw Problem(.contentTooLarge, "the bundle is over the limit of \(limits.maxBundleBytes) bytes")
                }
                try buffer.withUnsafeReadableBytes { raw in
                    var offset = 0
                    while offset < raw.count { offset += try fd.write(UnsafeRawBufferPointer(rebasing: raw[offset...])) }
                }
            }
            isOpen = false
            try fd.close()
        } catch {
            if isOpen { try? fd.close() }
            throw error
        }
        return try await body(path)
    }

    /// Reads an object-ID list body (bounded) into memory.
    func readList(_ reader: BodyReader) async throws -> [ObjectID] {
        var bytes: [UInt8] = []
        var chunks = reader
        while let buffer = try await chunks.next() {
            guard bytes.count + buffer.readableBytes <= limits.maxListBytes else {
                throw Problem(.contentTooLarge, "an object list may hold at most \(limits.maxListEntries) IDs")
            }
            bytes.append(contentsOf: buffer.readableBytesView)
        }
        guard let ids = IDList.decode(bytes) else {
            throw Problem(.badRequest, "the body is not an object list (one sha256:<64 hex> per line)")
        }
        return ids
    }

    /// The caller's replica and role from the request headers; the replica must be the one the
    /// token is bound to, if it is bound.
    /// An unbound token is bound to that replica here (first use; ``ReplicaTokens/claim(_:as:)``).
    func peer(_ request: Request, _ token: ReplicaToken) async throws -> (String, StoreConfig.Role?) {
        guard let replica = request.headers[Self.field(HTTPSyncProtocol.Header.replica)], !replica.isEmpty else {
            throw Problem(.badRequest, "the \(HTTPSyncProtocol.Header.replica) header is missing")
        }
        guard ReplicaTokens.isReplicaID(replica) else {
            throw Problem(.badRequest, "the \(HTTPSyncProtocol.Header.replica) header is not a replica ID ([A-Za-z0-9][A-Za-z0-9._-]{0,127})")
        }
        if let bound = token.replica, bound != replica {
            throw Problem(.forbidden, "token \(token.name) belongs to replica \(bound), not \(replica)")
        }
        let role = try request.headers[Self.field(HTTPSyncProtocol.Header.role)].map { text in
            guard let role = StoreConfig.Role(rawValue: text) else {
                throw Problem(.badRequest, "the \(HTTPSyncProtocol.Header.role) header must be workstation or portal")
            }
            return role
        }
        let tokens = self.tokens
        try await pool.runIfActive { _ = try tokens.authorize(token, as: replica) }
        return (replica, role)
    }

    func temporaryPath(_ kind: String) -> String {
        repository.store.scratchPath("http-\(kind)-", suffix: ".bundle")
    }

    // MARK: Authentication and errors

    /// Authenticates, runs `handler`, and turns every error into a status and one text line.
    func respond(_ request: Request, _ handler: (ReplicaToken) async throws -> Response) async -> Response {
        let started = ContinuousClock.now
        var who = "-"
        let response: Response
        do {
            let token = try await authenticate(request)
            who = token.name
            response = try await handler(token)
        } catch let error {
            if let problem = Problem(mapping: error) {
                response = problem.response
            } else {
                logger.error("\(request.method) \(request.uri.path) failed: \(error)")
                response = Problem(.internalServerError, "the server failed; see its log").response
            }
        }
        let elapsed = ContinuousClock.now - started
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        logger.info("\(request.method) \(request.uri.path) \(response.status.code) token=\(who) \(Int(ms.rounded())) ms")
        return response
    }

    func authenticate(_ request: Request) async throws -> ReplicaToken {
        guard let value = request.headers[.authorization], value.utf8.count <= limits.maxAuthorizationBytes,
              value.hasPrefix("Bearer ") else {
            throw Problem(.unauthorized, "a bearer token is required (Authorization: Bearer TOKEN)")
        }
        let presented = String(value.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        let tokens = self.tokens
        guard let token = try await pool.runIfActive({ try tokens.authenticate(presented) }) else {
            throw Problem(.unauthorized, "the token is unknown or revoked")
        }
        return token
    }

    static func field(_ name: String) -> HTTPField.Name { HTTPField.Name(name)! }

    static func bytes(_ status: HTTPResponse.Status, _ type: String, _ bytes: [UInt8]) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// The JSON answer of `POST /v1/push`: what the portal's apply did, quarantined messages included.
struct PushResult: Codable, Sendable {
    struct Item: Codable, Sendable { var thread, message, reason: String }
    var applied, fastForwarded, merged, objects, threads, unchanged: Int
    var quarantined: [Item]

    init(_ r: ApplyResult) {
        applied = r.applied
        fastForwarded = r.fastForwarded
        merged = r.merged
        objects = r.objects
        threads = r.threads
        unchanged = r.unchanged
        quarantined = r.quarantined.map { Item(thread: $0.thread, message: $0.message, reason: $0.reason) }
    }
}

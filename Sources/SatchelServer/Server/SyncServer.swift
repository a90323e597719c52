import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import SatchelManifest
import SatchelMessaging
import SatchelSync

/// `satchel serve`: the portal's HTTP sync endpoint (docs/FORMAT.md, "HTTP sync").
///
/// Every endpoint needs a replica's bearer token (``ReplicaTokens``). Bundles arrive streamed to
/// a temporary file in the store (bounded by ``HTTPSyncProtocol/Limits/maxBundleBytes``), are
/// verified and applied all-or-nothing, and leave streamed from a temporary file: no bundle is
/// ever held in memory. One exchange at a time touches the store.
public struct SyncServer: Sendable {
    /// Where to listen and the limits that protect the portal from slow or hostile clients.
    public struct Configuration: Sendable {
        /// Address to listen on (`satchel serve --bind`).
        public var host = "127.0.0.1"
        /// 0 picks a free port (reported to `onRunning`).
        public var port = 8080
        /// Protocol limits (bundle size, list lengths, authorization header size).
        public var limits = HTTPSyncProtocol.Limits()
        /// A connection with no complete HTTP part read for this long is closed (stalled clients).
        public var idleTimeout: TimeAmount = .seconds(60)
        /// The request head must be complete this long after the connection opens.
        public var headerTimeout: TimeAmount = .seconds(10)
        /// While the server waits for a request body, the body must come at least this fast on
        /// average once `bodyGrace` of waiting has passed.
        public var minBodyBytesPerSecond = 1024
        /// How long a request body may wait before ``minBodyBytesPerSecond`` applies.
        public var bodyGrace: TimeAmount = .seconds(10)
        /// After the response, how long the rest of an unread request is read and discarded
        /// before the connection closes (sooner when the client closes its side). A client
        /// refused early (401, 413) that is slow to send the rest of its body, on a slow link or
        /// in a busy process, must still read the answer rather than a reset: nginx lingers up
        /// to 30 s; 10 s here.
        public var lingerTimeout: TimeAmount = .seconds(10)
        /// Open connections allowed per peer IP address; more are closed at once. (Behind a
        /// proxy every client shares the proxy's address: raise it there.)
        public var maxConnectionsPerPeer = 16
        /// Open connections allowed in all; at the cap the oldest connection still waiting for
        /// its request head is closed to admit a new one. nil: the open-file limit less 256
        /// (descriptors for the store), at least 64.
        public var maxConnections: Int?
        /// Where the routes' blocking store work runs (token checks, spooled applies, bundle
        /// creation). A request's body clock (``minBodyBytesPerSecond``) starts only once its
        /// route reads the body, so time queued here never counts against a client.
        public var threadPool: NIOThreadPool = .singleton
        /// Raise this process's open-file soft limit to its hard limit when the server starts.
        public var raiseDescriptorLimit = true
        /// Request header limits (bytes of one field, of all fields, number of fields).
        public var maxHeaderFieldBytes = 8 << 10
        /// Bytes of all request header fields together.
        public var maxHeaderListBytes = 32 << 10
        /// Number of request header fields.
        public var maxHeaderFields = 64

        /// A configuration for `host` and `port` with every other setting at its default.
        public init(host: String = "127.0.0.1", port: Int = 8080) {
            self.host = host
            self.port = port
        }
    }

    /// The portal store served.
    public let repository: Repository
    /// Address and limits.
    public let configuration: Configuration
    let logger: Logger

    /// A server for a portal store (``HTTPSyncError/Code/usage`` for a workstation store); it
    /// listens once ``run(handleSignals:onRunning:)`` is called.
    public init(repository: Repository, configuration: Configuration = .init(), logger: Logger? = nil) throws {
        guard repository.isPortal else {
            throw HTTPSyncError(.usage, "satchel serve runs on a portal store; \(repository.store.root) is a \(repository.role.rawValue) (workstations sync to the portal with: satchel sync URL)")
        }
        self.repository = repository
        self.configuration = configuration
        self.logger = logger ?? Logger(label: "satchel.serve")
    }

    /// Serves until the task is cancelled (or SIGINT/SIGTERM with `handleSignals`).
    /// `onRunning` gets the bound port once the server accepts connections.
    public func run(handleSignals: Bool = false, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        if configuration.raiseDescriptorLimit { Self.raiseDescriptorLimit() }
        let router = makeRouter()
        let table = ConnectionTable(perPeer: configuration.maxConnectionsPerPeer,
                                    total: configuration.maxConnections ?? max(64, Self.descriptorLimit() - 256))
        let http1 = http1Configuration(table: table)
        let logger = self.logger
        let app = Application(
            router: router,
            server: .http1(configuration: http1),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        if handleSignals {
            try await app.runService()
        } else {
            try await app.run()
        }
    }

    func makeRouter() -> Router<SyncRequestContext> {
        let router = Router(context: SyncRequestContext.self)
        SyncRoutes(repository: repository, limits: configuration.limits, logger: logger, pool: configuration.threadPool).register(on: router)
        return router
    }

    /// The HTTP/1 channel: decoder limits, idle timeout, and the ``ConnectionGuard``.
    func http1Configuration(table: ConnectionTable?) -> HTTP1Channel.Configuration {
        let limits = ConnectionGuard.Limits(headerTimeout: configuration.headerTimeout, bodyGrace: configuration.bodyGrace,
                                            minBodyBytesPerSecond: configuration.minBodyBytesPerSecond,
                                            lingerTimeout: configuration.lingerTimeout)
        let logger = self.logger
        var http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [ConnectionGuard(limits: limits, table: table, logger: logger)],
            idleTimeout: configuration.idleTimeout)
        http1.httpDecoder = .init(maxHeaderFieldSize: configuration.maxHeaderFieldBytes,
                                  maxHeaderListSize: configuration.maxHeaderListBytes,
                                  maxHeaderFieldCount: configuration.maxHeaderFields)
        return http1
    }

    #if canImport(Glibc)
    static let descriptorResource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    static let descriptorResource = RLIMIT_NOFILE
    #endif

    /// This process's open-file soft limit.
    static func descriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(descriptorResource, &limit) == 0 else { return 1024 }
        return Int(clamping: limit.rlim_cur)
    }

    /// Raises the open-file soft limit to the hard limit (each connection costs a descriptor).
    static func raiseDescriptorLimit() {
        let resource = descriptorResource
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(resource, &limit)
    }
}

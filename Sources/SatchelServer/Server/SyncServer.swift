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
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        /// 0 picks a free port (reported to `onRunning`).
        public var port = 8080
        public var limits = HTTPSyncProtocol.Limits()
        /// A connection idle this long is closed (slow or stalled clients).
        public var idleTimeout: TimeAmount = .seconds(120)
        /// Request header limits (bytes of one field, of all fields, number of fields).
        public var maxHeaderFieldBytes = 8 << 10
        public var maxHeaderListBytes = 32 << 10
        public var maxHeaderFields = 64

        public init(host: String = "127.0.0.1", port: Int = 8080) {
            self.host = host
            self.port = port
        }
    }

    public let repository: Repository
    public let configuration: Configuration
    let logger: Logger

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
        let router = Router()
        SyncRoutes(repository: repository, limits: configuration.limits, logger: logger).register(on: router)
        var http1 = HTTP1Channel.Configuration(idleTimeout: configuration.idleTimeout)
        http1.httpDecoder = .init(maxHeaderFieldSize: configuration.maxHeaderFieldBytes,
                                  maxHeaderListSize: configuration.maxHeaderListBytes,
                                  maxHeaderFieldCount: configuration.maxHeaderFields)
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
}

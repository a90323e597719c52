import Dispatch
import Logging
import SatchelFuzzKit
@_spi(Fuzzing) import SatchelServer
import SatchelSync
import Synchronization

/// HTTP request handling: raw request bytes through `SyncServer.respond(toRawRequest:)` (NIO's
/// decoder with the server's limits, the connection guard, Hummingbird, the sync routes and
/// their store work) on the world's portal. `@TOKEN@` in the input becomes the bearer token of
/// the workstation (tokens are random per process). A 5xx answer, or bytes that are not an HTTP
/// response, is a finding.
final class HTTPHarness: FuzzHarness {
    let world: World
    let server: SyncServer
    let token: [UInt8]

    init() throws {
        world = try World(scratch: World.makeScratch("http"))
        let (token, _) = try ReplicaTokens(world.portal).register("laptop")
        self.token = Array(token.utf8)
        var configuration = SyncServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.raiseDescriptorLimit = false
        var logger = Logger(label: "satchel.fuzz")
        logger.logLevel = .critical
        server = try SyncServer(repository: world.portal, configuration: configuration, logger: logger)
        // Warm up: the first requests start SwiftNIO's process-wide singletons (its blocking
        // thread pool), which LeakSanitizer would otherwise blame on the first fuzz input.
        for warmUp in ["GET /v1/hello HTTP/1.1\r\nHost: p\r\nAuthorization: Bearer @TOKEN@\r\n\r\n",
                       "POST /v1/have HTTP/1.1\r\nHost: p\r\nAuthorization: Bearer @TOKEN@\r\nContent-Length: 0\r\n\r\n",
                       "GET / HTTP/1.1\r\n\r\n"] {
            try run(Array(warmUp.utf8))
        }
    }

    func request(for input: [UInt8]) -> [UInt8] {
        World.substitute(input, World.tokenPlaceholder, with: token)
    }

    func runAsync(_ input: [UInt8]) async throws(FuzzFinding) {
        try Self.check(await server.respond(toRawRequest: request(for: input)))
    }

    /// Blocks the calling (non-cooperative) thread: libFuzzer's callback is synchronous.
    func run(_ input: [UInt8]) throws(FuzzFinding) {
        let server = self.server
        let bytes = request(for: input)
        let box = ResponseBox()
        Task.detached {
            box.set(await server.respond(toRawRequest: bytes))
        }
        box.wait()
        try Self.check(box.value)
    }

    static func check(_ response: [UInt8]) throws(FuzzFinding) {
        guard !response.isEmpty else { return }  // the connection was closed without an answer
        let line = response.prefix(while: { $0 != 0x0D && $0 != 0x0A })
        let parts = line.split(separator: 0x20, maxSplits: 2)
        guard parts.count >= 2, parts[0].starts(with: Array("HTTP/1.".utf8)),
              let status = Int(String(decoding: parts[1], as: UTF8.self)) else {
            throw FuzzFinding("the answer is not an HTTP response: \(String(decoding: response.prefix(200), as: UTF8.self).debugDescription)")
        }
        if status >= 500 {
            throw FuzzFinding("server error \(status): \(String(decoding: response.prefix(400), as: UTF8.self).debugDescription)")
        }
    }

    func tearDown() { world.remove() }
}

/// Harnesses of every target, the HTTP one included.
public enum FuzzHTTP {
    public static func makeHarness(for target: FuzzTarget) throws -> any FuzzHarness {
        target == .http ? try HTTPHarness() : try target.makeHarness()
    }
}

/// A response handed from the task that computes it to the thread that waits for it.
final class ResponseBox: Sendable {
    private let response = Mutex<[UInt8]>([])
    private let done = DispatchSemaphore(value: 0)

    func set(_ bytes: [UInt8]) {
        response.withLock { $0 = bytes }
        done.signal()
    }

    func wait() { done.wait() }
    var value: [UInt8] { response.withLock { $0 } }
}

import Foundation
import Logging
import NIOPosix
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelTestSupport
import Synchronization
import Testing
@_spi(Fuzzing) @testable import SatchelServer
@testable import SatchelSync

/// Hostile HTTP clients and servers (issue #12, rows 5-8 and the HTTP items of row 12), on
/// loopback only. Every loop is bounded and every server is stopped by its test.
@Suite(.serialized, .timeLimit(.minutes(3))) struct HTTPHardeningTests {
    typealias Setup = HTTPSyncTests.Setup
    typealias Server = HTTPSyncTests.Server

    /// The laptop's bundle for the portal, as bytes.
    static func bundle(_ setup: Setup) throws -> [UInt8] {
        let portalReplica = try #require(try CLI.run("stats", "--store", setup.portal, "--json").json["replica"] as? String)
        let path = setup.scratch.path + "/up-\(UUID().uuidString).bundle"
        #expect(try CLI.run("bundle", "create", "--for", portalReplica, "-o", path, "--store", setup.laptop).status == 0)
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func replica(_ store: String) throws -> String {
        try #require(try CLI.run("stats", "--store", store, "--json").json["replica"] as? String)
    }

    /// The thread pool of this suite's in-process servers: their token checks never queue
    /// behind other suites' store work on `NIOThreadPool.singleton` (the suite is serialized).
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    /// A `satchel serve`-equivalent server in this process, with `configure` applied.
    static func inProcess(_ repository: Repository, _ configure: (inout SyncServer.Configuration) -> Void = { _ in })
        async throws -> (port: Int, task: Task<Void, any Error>) {
        var configuration = SyncServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.raiseDescriptorLimit = false
        configuration.threadPool = Self.pool
        configure(&configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let server = try SyncServer(repository: repository, configuration: configuration, logger: logger)
        let ports = AsyncStream<Int>.makeStream()
        let task = Task { try await server.run { port in ports.continuation.yield(port) } }
        var iterator = ports.stream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        return (port, task)
    }

    /// Sends head + the first half of `body`, waits `pause` s, runs `meanwhile`, sends the rest;
    /// returns the answer.
    static func slowPush(port: Int, token: String, body: [UInt8], pause: Double = 0.3,
                         meanwhile: () throws -> Void) throws -> (status: Int?, text: String) {
        let client = try RawHTTP(port: port)
        client.send(RawHTTP.head("POST", HTTPSyncProtocol.Path.push, [
            ("Authorization", "Bearer " + token), ("Content-Type", HTTPSyncProtocol.MediaType.bundle),
            ("Content-Length", String(body.count)),
        ]))
        let half = body.count / 2
        client.send(Array(body[..<half]))
        Thread.sleep(forTimeInterval: pause)
        try meanwhile()
        Thread.sleep(forTimeInterval: 0.1)
        client.send(Array(body[half...]))
        let answer = client.read(for: 15)
        return (RawHTTP.status(answer.bytes), RawHTTP.body(answer.bytes))
    }

    // MARK: Row 5: authorization decided once, atomically with the apply

    @Test func aTokenRevokedWhileItsPushArrivesChangesNothing() throws {
        let setup = try Setup()
        _ = try setup.compose("Lab results")
        let body = try Self.bundle(setup)
        let server = try Server(store: setup.portal)
        defer { server.stop() }
        var afterRevoke: [String: Data] = [:]
        let answer = try Self.slowPush(port: server.port, token: setup.token, body: body) { () throws in
            let revoked = try CLI.run("replica", "revoke", "front-desk-laptop", "--store", setup.portal)
            #expect(revoked.status == 0)
            afterRevoke = durableSnapshot(setup.scratch, setup.portal)
        }
        #expect(answer.status == 403, "\(answer.text)")
        #expect(answer.text.contains("revoked"))
        #expect(durableSnapshot(setup.scratch, setup.portal) == afterRevoke)
        let threads = try CLI.run("thread", "list", "--store", setup.portal, "--json")
        #expect(((threads.json["threads"] as? [[String: Any]]) ?? []).isEmpty)
    }

    @Test func aTokenBoundElsewhereWhileItsPushArrivesChangesNothing() throws {
        let setup = try Setup()
        _ = try setup.compose("Lab results")
        let body = try Self.bundle(setup)
        let server = try Server(store: setup.portal)
        defer { server.stop() }
        var afterBind: [String: Data] = [:]
        let answer = try Self.slowPush(port: server.port, token: setup.token, body: body) { () throws in
            // Meanwhile the same (unbound) token is used by another replica: it binds there.
            let other = try RawHTTP(port: server.port)
            other.send(RawHTTP.head("POST", HTTPSyncProtocol.Path.offer, [
                ("Authorization", "Bearer " + setup.token), (HTTPSyncProtocol.Header.replica, "r0ther0laptop"),
                (HTTPSyncProtocol.Header.role, "workstation"), ("Content-Length", "0"),
            ]))
            #expect(RawHTTP.status(other.read(for: 10).bytes) == 200)
            afterBind = durableSnapshot(setup.scratch, setup.portal)
        }
        #expect(answer.status == 403, "\(answer.text)")
        #expect(durableSnapshot(setup.scratch, setup.portal) == afterBind)
        let list = try CLI.run("replica", "list", "--store", setup.portal, "--json")
        #expect((list.json["replicas"] as? [[String: Any]])?.first?["boundTo"] as? String == "r0ther0laptop")
    }

    // MARK: Row 12: tokens and replica IDs

    @Test func twoTokensNeverShareAReplicaAndBindingIsPermanent() throws {
        let setup = try Setup()
        _ = try setup.compose("Lab results")
        let server = try Server(store: setup.portal)
        defer { server.stop() }
        #expect(try HTTPSyncTests.sync(setup, server).status == 0)  // binds front-desk-laptop to the laptop
        let laptopReplica = try Self.replica(setup.laptop)

        // A second token (unbound) cannot claim the laptop's replica: push, offer and pull refused.
        let second = try CLI.run("replica", "register", "spare", "--store", setup.portal, "--json")
        let spare = try #require(second.json["token"] as? String)
        let spareFile = setup.scratch.file("spare-token", spare)
        _ = try setup.compose("Second")
        let before = setup.scratch.snapshot(setup.portal)
        let refused = try HTTPSyncTests.sync(setup, server, tokenFile: spareFile)
        #expect(refused.status == 77)
        #expect(refused.stderr.contains("403"))
        for path in [HTTPSyncProtocol.Path.offer, HTTPSyncProtocol.Path.pull] {
            let client = try RawHTTP(port: server.port)
            client.send(RawHTTP.head("POST", path, [("Authorization", "Bearer " + spare), (HTTPSyncProtocol.Header.replica, laptopReplica),
                                                     ("Content-Length", "0")]))
            #expect(RawHTTP.status(client.read(for: 10).bytes) == 403)
        }
        #expect(setup.scratch.snapshot(setup.portal) == before)
        let list = try CLI.run("replica", "list", "--store", setup.portal, "--json")
        let spareEntry = (list.json["replicas"] as? [[String: Any]])?.first { $0["replica"] as? String == "spare" }
        #expect(spareEntry?["boundTo"] is NSNull)

        // Once revoked, the laptop's replica may be claimed by a new token.
        #expect(try CLI.run("replica", "revoke", "front-desk-laptop", "--store", setup.portal).status == 0)
        #expect(try HTTPSyncTests.sync(setup, server, tokenFile: spareFile).status == 0)
    }

    @Test func aTokenBindsOnFirstUseEvenByPull() throws {
        let setup = try Setup()
        let server = try Server(store: setup.portal)
        defer { server.stop() }
        let pull = try RawHTTP(port: server.port)
        pull.send(RawHTTP.head("POST", HTTPSyncProtocol.Path.pull, [("Authorization", "Bearer " + setup.token),
                                                                    (HTTPSyncProtocol.Header.replica, "rsomeoneelse"), ("Content-Length", "0")]))
        #expect(RawHTTP.status(pull.read(for: 10).bytes) == 200)
        // The laptop itself is now refused with that token.
        let result = try HTTPSyncTests.sync(setup, server)
        #expect(result.status == 77)
        #expect(result.stderr.contains("403"))
    }

    @Test func malformedReplicaIDsGet400() throws {
        let setup = try Setup()
        let server = try Server(store: setup.portal)
        defer { server.stop() }
        let before = setup.scratch.snapshot(setup.portal)
        for replica in ["x/y", "-x", ".hidden", "a b", String(repeating: "r", count: 129), "r\u{e9}"] {
            for path in [HTTPSyncProtocol.Path.pull, HTTPSyncProtocol.Path.offer] {
                let client = try RawHTTP(port: server.port)
                client.send(RawHTTP.head("POST", path, [("Authorization", "Bearer " + setup.token),
                                                        (HTTPSyncProtocol.Header.replica, replica), ("Content-Length", "0")]))
                let answer = client.read(for: 10)
                #expect(RawHTTP.status(answer.bytes) == 400, "\(path) \(replica): \(RawHTTP.body(answer.bytes))")
            }
        }
        #expect(setup.scratch.snapshot(setup.portal) == before)
    }

    // MARK: Row 8: client mistakes are 4xx with the reason

    @Test func clientMistakesGet4xxWithTheReasonNot500() throws {
        let setup = try Setup()
        _ = try setup.compose("Lab results")
        let portalReplica = try Self.replica(setup.portal)
        let bundlePath = setup.scratch.path + "/up.bundle"
        #expect(try CLI.run("bundle", "create", "--for", portalReplica, "-o", bundlePath, "--store", setup.laptop).status == 0)

        // Thread heads naming an object of the wrong kind that the portal holds: a blob and
        // the directory manifest.
        let portal = try Repository.open(at: setup.portal)
        let blob = try portal.store.put(.blob, Array("just bytes".utf8))
        let directory = try #require(try portal.store.refs.read(RefName("directory")))
        var forged: [String] = []
        for (index, target) in [blob, directory].enumerated() {
            let opened = try BundleFile.open(bundlePath)
            var header = opened.header
            let pack = setup.scratch.path + "/pack-\(index)"
            try opened.copyPack(to: pack)
            opened.close()
            let thread = try #require(header.heads.firstIndex { $0.ref.hasPrefix("threads/") })
            header.heads[thread].object = target
            let path = setup.scratch.path + "/forged-\(index).bundle"
            _ = try BundleFile.write(header: header, packPath: pack, to: path)
            forged.append(path)
        }
        let server = try Server(store: setup.portal)
        defer { server.stop() }
        let before = setup.scratch.snapshot(setup.portal)
        let auth = ("Authorization", "Bearer " + setup.token)

        for path in forged {
            let body = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            let client = try RawHTTP(port: server.port)
            client.send(RawHTTP.head("POST", HTTPSyncProtocol.Path.push, [auth, ("Content-Length", String(body.count))]))
            client.send(body)
            let answer = client.read(for: 10)
            #expect(RawHTTP.status(answer.bytes) == 400, "\(RawHTTP.body(answer.bytes))")
            #expect(RawHTTP.body(answer.bytes).contains("not a thread manifest"))
        }

        // An invalid chunk size in a chunked have-list.
        let chunked = try RawHTTP(port: server.port)
        chunked.send(RawHTTP.head("POST", HTTPSyncProtocol.Path.have, [auth, ("Transfer-Encoding", "chunked")]) + "zz\r\nsha256:\r\n0\r\n\r\n")
        let chunkedAnswer = chunked.read(for: 10)
        #expect(RawHTTP.status(chunkedAnswer.bytes) == 400, "\(RawHTTP.body(chunkedAnswer.bytes))")

        // A truncated upload: fewer bytes than Content-Length, then the client stops sending.
        let body = Array(try Data(contentsOf: URL(fileURLWithPath: bundlePath)))
        let truncated = try RawHTTP(port: server.port)
        truncated.send(RawHTTP.head("POST", HTTPSyncProtocol.Path.push, [auth, ("Content-Length", String(body.count))]))
        truncated.send(Array(body.prefix(body.count / 2)))
        truncated.shutdownWrite()
        let truncatedAnswer = truncated.read(for: 10)
        #expect(RawHTTP.status(truncatedAnswer.bytes) == 400, "\(RawHTTP.body(truncatedAnswer.bytes))")

        #expect(setup.scratch.snapshot(setup.portal).filter { !$0.key.hasPrefix("tmp/") } == before.filter { !$0.key.hasPrefix("tmp/") })
    }

    // MARK: Row 7: the client gives up on a silent or stalled server

    /// A fake portal on loopback: never answers, or answers everything but stalls mid-pull.
    final class FakePortal: Sendable {
        enum Behaviour { case silent, stallInPull }
        let listener: Int32
        let port: Int
        private let stopped = Mutex(false)
        private let connections = Mutex<[Int32]>([])

        init(_ behaviour: Behaviour) throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = RawHTTP.address("127.0.0.1", port: 0)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            listen(fd, 16)
            var bound = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &bound) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            listener = fd
            port = Int(UInt16(bigEndian: bound.sin_port))
            guard behaviour == .stallInPull else { return }  // silent: the kernel accepts, nobody reads
            let thread = Thread { [self] in
                while !stopped.withLock({ $0 }) {
                    let fd = accept(listener, nil, nil)
                    if fd < 0 { return }
                    connections.withLock { $0.append(fd) }
                    serve(fd)
                }
            }
            thread.start()
        }

        func serve(_ fd: Int32) {
            var request: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            var headEnd: Int?
            var length = 0
            while true {
                if let end = headEnd, request.count >= end + length { break }
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return }
                request += buffer[0..<n]
                if headEnd == nil, let end = Self.endOfHead(request) {
                    headEnd = end
                    let head = String(decoding: request[..<end], as: UTF8.self)
                    for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                        length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
                    }
                }
            }
            let line = String(decoding: request.prefix(64), as: UTF8.self)
            func answer(_ type: String, _ body: String) {
                let text = "HTTP/1.1 200 OK\r\nContent-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
                _ = Array(text.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            if line.contains(HTTPSyncProtocol.Path.hello) {
                answer("application/json", "{\"maxBundleBytes\":1000000,\"maxListEntries\":1000,\"name\":\"x\",\"protocol\":1,\"replica\":\"rfakeportal\",\"role\":\"portal\"}\n")
            } else if line.contains(HTTPSyncProtocol.Path.push) {
                answer("application/json", "{\"applied\":1,\"fastForwarded\":0,\"merged\":0,\"objects\":1,\"threads\":1,\"unchanged\":0}\n")
            } else if line.contains(HTTPSyncProtocol.Path.pull) {
                // A bundle that starts and never finishes.
                let text = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.satchel.bundle\r\nContent-Length: 100000\r\n\r\nSATCHBDL"
                _ = Array(text.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            } else {
                answer("application/vnd.satchel.object-ids", "")  // have, offer: nothing
            }
        }

        static func endOfHead(_ bytes: [UInt8]) -> Int? {
            let marker: [UInt8] = [13, 10, 13, 10]
            guard bytes.count >= 4 else { return nil }
            for i in 0...(bytes.count - 4) where Array(bytes[i..<(i + 4)]) == marker { return i + 4 }
            return nil
        }

        /// Wakes the accept thread and ends every connection; safe to call more than once.
        /// Descriptors are closed only in deinit, exactly once: a second close, or a close while
        /// the accept thread still uses the number, could hit a file another test just opened.
        func stop() {
            stopped.withLock { $0 = true }
            shutdown(listener, Int32(SHUT_RDWR))
            for fd in connections.withLock({ $0 }) { shutdown(fd, Int32(SHUT_RDWR)) }
        }

        deinit {
            stop()
            close(listener)
            for fd in connections.withLock({ $0 }) { close(fd) }
        }
    }

    @Test(arguments: [FakePortal.Behaviour.silent, .stallInPull])
    func aSilentOrStalledServerFailsWith74AndNothingIsApplied(_ behaviour: FakePortal.Behaviour) throws {
        let setup = try Setup()
        _ = try setup.compose("Lab results")
        let fake = try FakePortal(behaviour)
        defer { fake.stop() }
        let before = durableSnapshot(setup.scratch, setup.laptop)
        let (result, elapsed) = try runBounded(["sync", "http://127.0.0.1:\(fake.port)", "--token-file", setup.tokenFile,
                                                "--store", setup.laptop, "--json"],
                                               environment: ["SATCHEL_HTTP_TIMEOUT": "1"], seconds: 30)
        #expect(result.status == 74, "\(result.stderr)")
        #expect(result.stderr.contains("no answer for 1 s"), "\(result.stderr)")
        #expect(elapsed < 15)
        #expect(durableSnapshot(setup.scratch, setup.laptop) == before)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: setup.laptop + "/tmp")) ?? []
        #expect(leftovers.filter { $0.hasPrefix("http-") }.isEmpty)
    }

    // MARK: Row 6: deadlines, caps, close after refusal

    /// The client side of the row-6 checks, measured on a thread of its own (blocking reads in
    /// the test's task would starve the in-process server's route tasks on the cooperative pool).
    struct Cutoffs: Sendable {
        var headClosed = false, headSeconds = 0.0
        var bodyClosed = false, bodySeconds = 0.0
        var refusal: [UInt8] = [], refusalClosed = false
    }

    /// A head trickling in, a body trickling in with a valid token, and a refused token with a
    /// body still owed, against the server on `port`.
    static func cutoffs(port: Int, token: String) throws -> Cutoffs {
        var out = Cutoffs()
        // A head trickling in is cut off after the header deadline.
        let slowHead = try RawHTTP(port: port)
        let started = Date()
        for byte in Array("GET /v1/hello HTTP/1.1\r\n".utf8) {
            if !slowHead.send([byte]) { out.headClosed = true; break }
            if slowHead.read(for: 0.3).closed { out.headClosed = true; break }
            if Date().timeIntervalSince(started) > 6 { break }
        }
        out.headSeconds = Date().timeIntervalSince(started)

        // A body trickling in (with a valid token) is cut off once under the minimum rate.
        let slowBody = try RawHTTP(port: port)
        slowBody.send(RawHTTP.head("POST", HTTPSyncProtocol.Path.push, [("Authorization", "Bearer " + token), ("Content-Length", "100000")]))
        let bodyStarted = Date()
        while Date().timeIntervalSince(bodyStarted) < 15 {
            if !slowBody.send([0x41]) { out.bodyClosed = true; break }
            if slowBody.read(for: 0.3).closed { out.bodyClosed = true; break }
        }
        out.bodySeconds = Date().timeIntervalSince(bodyStarted)

        // A refused token: 401, then the connection closes although the client keeps it open
        // (keep-alive, body still owed).
        let refused = try RawHTTP(port: port)
        refused.send(RawHTTP.head("POST", HTTPSyncProtocol.Path.push, [("Authorization", "Bearer sat1_" + String(repeating: "0", count: 64)),
                                                                      ("Connection", "keep-alive"), ("Content-Length", "50000")]))
        refused.send(Array(repeating: 0x42, count: 1000))
        let answer = refused.read(for: 8)
        out.refusal = answer.bytes
        out.refusalClosed = answer.closed
        return out
    }

    static let strictLimits: @Sendable (inout SyncServer.Configuration) -> Void = {
        $0.headerTimeout = .seconds(1)
        $0.bodyGrace = .seconds(1)
        $0.minBodyBytesPerSecond = 1000
        $0.lingerTimeout = .milliseconds(500)
        $0.maxConnectionsPerPeer = 4
    }

    @Test func slowHeadsAndSlowBodiesAreCutOffAndRefusalsClose() async throws {
        let scratch = Scratch()
        let portal = try Repository.create(at: scratch.path + "/p", role: .portal)
        let (token, _) = try ReplicaTokens(portal).register("laptop")
        let (port, task) = try await Self.inProcess(portal, Self.strictLimits)
        defer { task.cancel() }
        let seen = try await onOwnThread { try Self.cutoffs(port: port, token: token) }
        #expect(seen.headClosed)
        #expect(seen.headSeconds < 4)
        #expect(seen.bodyClosed)
        // About 2 s once the route reads the body (grace 1 s, then under 1,000 B/s); the route's
        // task runs on the cooperative pool, which a loaded test run can hold up for seconds.
        #expect(seen.bodySeconds < 12)
        #expect(RawHTTP.status(seen.refusal) == 401, "\(String(decoding: seen.refusal, as: UTF8.self))")
        #expect(seen.refusalClosed)
        #expect(String(decoding: seen.refusal, as: UTF8.self).lowercased().contains("connection: close"))
    }

    /// The body-rate clock runs only while the route waits for the body: a server whose thread
    /// pool is busy (here: its one thread held for 4 s) still answers a refused token with 401,
    /// and a valid push whose body pauses while the server cannot yet read it completes.
    /// (Before, the clock started with the head, and such clients were cut off with no answer.)
    @Test func timeTheServerIsBusyNeverCountsAgainstAClient() async throws {
        let setup = try Setup()
        _ = try setup.compose("Lab results")
        let body = try Self.bundle(setup)
        let portal = try Repository.open(at: setup.portal)
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let (port, task) = try await Self.inProcess(portal) {
            Self.strictLimits(&$0)
            $0.threadPool = pool
        }
        let token = setup.token
        let busy = Task { try await pool.runIfActive { Thread.sleep(forTimeInterval: 4) } }
        try await Task.sleep(for: .milliseconds(200))  // the pool's one thread is taken first
        let (refusal, push) = try await onOwnThread { () -> ((bytes: [UInt8], closed: Bool), (status: Int?, text: String)) in
            let refused = try RawHTTP(port: port)
            refused.send(RawHTTP.head("POST", HTTPSyncProtocol.Path.push, [("Authorization", "Bearer sat1_" + String(repeating: "0", count: 64)),
                                                                          ("Connection", "keep-alive"), ("Content-Length", "50000")]))
            refused.send(Array(repeating: 0x42, count: 1000))
            // The valid push sends half its body, then nothing for 5 s (the server is busy for 4).
            let push = try Self.slowPush(port: port, token: token, body: body, pause: 5) {}
            return (refused.read(for: 10), push)
        }
        try await busy.value
        task.cancel()
        try await pool.shutdownGracefully()
        #expect(RawHTTP.status(refusal.bytes) == 401, "\(String(decoding: refusal.bytes, as: UTF8.self))")
        #expect(refusal.closed)
        #expect(push.status == 200, "\(push.text)")
        let threads = try CLI.run("thread", "list", "--store", setup.portal, "--json")
        #expect(((threads.json["threads"] as? [[String: Any]]) ?? []).count == 1)
    }

    @Test func atMostNConnectionsPerPeerAddress() async throws {
        let scratch = Scratch()
        let portal = try Repository.create(at: scratch.path + "/p", role: .portal)
        let (token, _) = try ReplicaTokens(portal).register("laptop")
        let (port, task) = try await Self.inProcess(portal) { $0.maxConnectionsPerPeer = 4 }
        defer { task.cancel() }
        let (open, other, again) = try await onOwnThread { () -> (Int, Int?, Int?) in
            var held: [RawHTTP] = []
            for _ in 0..<8 { held.append(try RawHTTP(port: port, from: "127.0.0.2")) }
            var open = 0
            for client in held where !client.read(for: 0.3).closed { open += 1 }
            // Another address is still served, and closing the held ones frees their slots.
            let hello = try RawHTTP(port: port)
            hello.send(RawHTTP.head("GET", HTTPSyncProtocol.Path.hello, [("Authorization", "Bearer " + token)]))
            let other = RawHTTP.status(hello.read(for: 5).bytes)
            held.removeAll()
            Thread.sleep(forTimeInterval: 0.3)
            let again = try RawHTTP(port: port, from: "127.0.0.2")
            again.send(RawHTTP.head("GET", HTTPSyncProtocol.Path.hello, [("Authorization", "Bearer " + token)]))
            return (open, other, RawHTTP.status(again.read(for: 5).bytes))
        }
        #expect(open == 4)
        #expect(other == 200)
        #expect(again == 200)
    }

    /// Slow clients (`SATCHEL_SLOW_CLIENTS`, default 300), 8 from each of many loopback addresses
    /// (under the per-address cap; `SATCHEL_SLOW_CLIENTS_PER_ADDRESS`), trickle a header byte each second at a server limited to 256
    /// descriptors (`SATCHEL_SLOW_CLIENTS_NOFILE`); a legitimate `sync` from 127.0.0.1 completes
    /// in under 5 s meanwhile.
    @Test func aLegitimateSyncCompletesUnderSlowClientLoad() throws {
        let environment = ProcessInfo.processInfo.environment
        let count = environment["SATCHEL_SLOW_CLIENTS"].flatMap { Int($0) } ?? 300
        let descriptors = environment["SATCHEL_SLOW_CLIENTS_NOFILE"].flatMap { Int($0) } ?? 256
        let perAddress = max(1, environment["SATCHEL_SLOW_CLIENTS_PER_ADDRESS"].flatMap { Int($0) } ?? 8)
        let setup = try Setup()
        _ = try setup.compose("Lab results")
        let server = try Server(store: setup.portal, descriptorLimit: descriptors)
        defer { server.stop() }

        var attackers: [RawHTTP] = []
        for index in 0..<count {
            let address = index / perAddress
            if let client = try? RawHTTP(port: server.port, from: "127.0.\(address / 250).\(2 + address % 250)") { attackers.append(client) }
        }
        let head = Array("POST /v1/push HTTP/1.1\r\nHost: x\r\n".utf8)
        let clients = attackers
        let stop = Flag()
        let trickler = Thread {
            var index = 0
            while !stop.isSet && index < head.count {
                for client in clients { client.send([head[index]]) }
                index += 1
                Thread.sleep(forTimeInterval: 1)
            }
        }
        trickler.start()
        defer { stop.set() }
        Thread.sleep(forTimeInterval: 1.5)
        let (result, elapsed) = try runBounded(["sync", server.url, "--token-file", setup.tokenFile, "--store", setup.laptop, "--json"],
                                               seconds: 30)
        print("slow clients: \(count) opened \(attackers.count), \(perAddress) per address, server limited to \(descriptors) descriptors; legitimate sync \(String(format: "%.2f", elapsed)) s, exit \(result.status)")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(elapsed < 5)
        #expect(HTTPSyncTests.side(result, "sent")["threads"] == 1)
    }

    // MARK: Fuzzing entry point

    /// Seeded mutations of valid requests through the raw-request entry point (the same HTTP/1
    /// path as the socket server): no crash, and no 500 for client garbage.
    @Test func mutatedRawRequestsNeverCrashOrGet500() async throws {
        let seed = ProcessInfo.processInfo.environment["SATCHEL_FUZZ_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64(UInt32.max))
        let rounds = ProcessInfo.processInfo.environment["SATCHEL_FUZZ_ROUNDS"].flatMap { Int($0) } ?? 2_000
        let scratch = Scratch()
        let portal = try Repository.create(at: scratch.path + "/p", role: .portal)
        let laptop = try Repository.create(at: scratch.path + "/w", role: .workstation)
        let (token, _) = try ReplicaTokens(portal).register("laptop")
        let bundlePath = scratch.path + "/b.bundle"
        _ = try SyncEngine(laptop).createBundle(for: portal.replica, to: bundlePath)
        let bundle = Array(try Data(contentsOf: URL(fileURLWithPath: bundlePath)))
        var configuration = SyncServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.raiseDescriptorLimit = false
        var logger = Logger(label: "fuzz")
        logger.logLevel = .critical
        let server = try SyncServer(repository: portal, configuration: configuration, logger: logger)

        let auth = "Authorization: Bearer \(token)\r\n"
        let id = ObjectID.compute(kind: .blob, payload: [1]).description
        let seeds: [[UInt8]] = [
            "GET /v1/hello HTTP/1.1\r\nHost: p\r\n\(auth)\r\n",
            "POST /v1/have HTTP/1.1\r\nHost: p\r\n\(auth)Content-Length: 72\r\n\r\n\(id)\n",
            "POST /v1/have HTTP/1.1\r\nHost: p\r\n\(auth)Transfer-Encoding: chunked\r\n\r\n48\r\n\(id)\n\r\n0\r\n\r\n",
            "POST /v1/offer HTTP/1.1\r\nHost: p\r\n\(auth)Satchel-Replica: \(laptop.replica)\r\nSatchel-Role: workstation\r\nContent-Length: 0\r\n\r\n",
            "POST /v1/pull HTTP/1.1\r\nHost: p\r\n\(auth)Satchel-Replica: \(laptop.replica)\r\nContent-Length: 72\r\n\r\n\(id)\n",
        ].map { Array($0.utf8) } + [Array("POST /v1/push HTTP/1.1\r\nHost: p\r\n\(auth)Content-Length: \(bundle.count)\r\n\r\n".utf8) + bundle,
                                    Array("POST /v1/sync HTTP/1.1\r\nHost: p\r\n\(auth)Content-Length: \(bundle.count)\r\n\r\n".utf8) + bundle]

        // The seeds themselves are answered 200.
        for request in seeds {
            let response = await server.respond(toRawRequest: request)
            #expect(RawHTTP.status(response) == 200, "seed: \(String(decoding: response.prefix(300), as: UTF8.self))")
        }
        var rng = SplitMix64(seed: seed)
        var statuses: [Int: Int] = [:]
        for round in 0..<rounds {
            let request = Self.mutate(seeds[Int(rng.next() % UInt64(seeds.count))], &rng)
            let response = await server.respond(toRawRequest: request)
            let status = RawHTTP.status(response) ?? 0
            statuses[status, default: 0] += 1
            if status >= 500 || (status == 0 && !response.isEmpty) {
                Issue.record("seed \(seed) round \(round): status \(status): \(String(decoding: response.prefix(200), as: UTF8.self)); request \(String(decoding: request.prefix(300), as: UTF8.self).debugDescription)")
                break
            }
        }
        print("fuzz seed \(seed), \(rounds) requests, statuses \(statuses.sorted { $0.key < $1.key })")
    }

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        let steps = 1 + Int(rng.next() % 4)
        for _ in 0..<steps {
            let position = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count))
            switch rng.next() % 9 {
            case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(1 << (rng.next() % 8))
            case 1 where !bytes.isEmpty: bytes[position] = UInt8(truncatingIfNeeded: rng.next())
            case 2: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: position)
            case 3 where !bytes.isEmpty: bytes.remove(at: position)
            case 4: bytes = Array(bytes.prefix(position))
            case 5:
                let tokens = ["\r\n", ":", " ", "Content-Length: 99999999999999999999\r\n", "Transfer-Encoding: chunked\r\n",
                              "Content-Length: -1\r\n", "\0", "%2e%2e/", "Satchel-Replica: ../x\r\n", "Authorization: Bearer x\r\n",
                              "Expect: 100-continue\r\n", "Connection: keep-alive\r\n", "GET / HTTP/1.1\r\n\r\n"]
                bytes.insert(contentsOf: Array(tokens[Int(rng.next() % UInt64(tokens.count))].utf8), at: position)
            case 6:
                let length = Int(rng.next() % 64)
                bytes.replaceSubrange(position..<min(bytes.count, position + length), with: (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            case 7:
                let end = min(bytes.count, position + Int(rng.next() % 32))
                bytes.insert(contentsOf: Array(bytes[position..<end]), at: position)
            default:
                bytes.append(contentsOf: (0..<Int(rng.next() % 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            }
        }
        return bytes
    }
}

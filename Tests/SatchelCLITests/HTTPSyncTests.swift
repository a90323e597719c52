import Foundation
import Logging
import NIOHTTP1
import SatchelMessaging
import SatchelStore
import Testing
@testable import SatchelServer
@testable import SatchelSync

/// HTTP sync over loopback: `satchel serve --port 0` as a child process on 127.0.0.1, driven by
/// `satchel sync URL` and by raw requests. Every server is stopped by its test.
@Suite(.serialized, .timeLimit(.minutes(3))) struct HTTPSyncTests {
    static let directory = """
        <directory xmlns="urn:satchel:directory:1">
          <settings defaultAllowReplies="true">
            <notificationTemplate id="e" channel="email">New secure message: {{link}}</notificationTemplate>
          </settings>
          <staff id="s1" name="Dr. Ada Shaw"><permission name="sendBulkPortalMessage"/></staff>
          <patient id="p1" name="Rosa Diaz" status="active" email="rosa@example.org" cell="+15550100" portalAccess="true"/>
          <portalUser id="u1" patient="p1" role="patient" active="true" name="Rosa Diaz"/>
        </directory>
        """

    /// A portal and a workstation with the same directory, and a registered token.
    final class Setup {
        let scratch = Scratch()
        let portal: String
        let laptop: String
        let token: String
        let tokenFile: String

        init() throws {
            portal = scratch.path + "/portal"
            laptop = scratch.path + "/laptop"
            let directory = scratch.file("directory.xml", HTTPSyncTests.directory)
            try #require(CLI.run("init", portal, "--role", "portal", "--portal-url", "https://portal.example.org").status == 0)
            try #require(CLI.run("init", laptop, "--role", "workstation").status == 0)
            try #require(CLI.run("directory", "import", directory, "--store", portal).status == 0)
            try #require(CLI.run("directory", "import", directory, "--store", laptop).status == 0)
            let registered = try CLI.run("replica", "register", "front-desk-laptop", "--store", portal, "--json")
            try #require(registered.status == 0, "\(registered.stderr)")
            #expect(registered.json["replica"] as? String == "front-desk-laptop")
            token = try #require(registered.json["token"] as? String)
            tokenFile = scratch.file("token", token + "\n")
        }

        func compose(_ subject: String, attach: String? = nil) throws -> String {
            var args = ["compose", "--store", laptop, "--as", "s1", "--patient", "p1", "--subject", subject,
                        "--body", "Please see the attached results.", "--send", "--json"]
            if let attach { args += ["--attach", attach] }
            let result = try CLI.run(args)
            try #require(result.status == 0, "\(result.stderr)")
            let threads = try #require(result.json["threads"] as? [[String: Any]])
            return try #require(threads.first?["thread"] as? String)
        }
    }

    /// `satchel serve --port 0 --json` on a store; stopped (SIGTERM, then SIGKILL) by `stop()`.
    final class Server {
        let process: Process
        let url: String
        let port: Int

        /// With `descriptorLimit`, the server runs under `ulimit -n` (soft and hard) of that.
        init(store: String, descriptorLimit: Int? = nil) throws {
            process = CLI.process(["serve", "--store", store, "--port", "0", "--json"])
            if let descriptorLimit {
                process.arguments = ["-c", "ulimit -n \(descriptorLimit) && exec \"$0\" \"$@\"", CLI.executable] + (process.arguments ?? [])
                process.executableURL = URL(fileURLWithPath: "/bin/sh")
            }
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            // The first stdout line announces the URL; wait for it at most 30 s.
            let reader = out.fileHandleForReading
            let box = LineBox()
            let thread = Thread {
                var line = Data()
                while true {
                    let byte = reader.readData(ofLength: 1)
                    if byte.isEmpty || byte == Data("\n".utf8) { break }
                    line.append(byte)
                }
                box.set(line)
            }
            thread.start()
            guard box.wait(seconds: 30), let line = box.line,
                  let json = try? JSONSerialization.jsonObject(with: line) as? [String: Any],
                  let url = json["url"] as? String, let port = json["port"] as? Int else {
                process.terminate()
                process.waitUntilExit()
                throw CancellationError()
            }
            self.url = url
            self.port = port
        }

        func stop() {
            guard process.isRunning else { return }
            process.terminate()
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }

        deinit { stop() }
    }

    final class LineBox: @unchecked Sendable {
        private let semaphore = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var value: Data?
        var line: Data? { lock.withLock { value } }
        func set(_ data: Data) {
            lock.withLock { value = data }
            semaphore.signal()
        }
        func wait(seconds: Double) -> Bool { semaphore.wait(timeout: .now() + seconds) == .success }
    }

    static func sync(_ setup: Setup, _ server: Server, tokenFile: String? = nil) throws -> CLI.Result {
        try CLI.run("sync", server.url, "--token-file", tokenFile ?? setup.tokenFile, "--store", setup.laptop, "--json")
    }

    static func side(_ result: CLI.Result, _ key: String) -> [String: Int] {
        (result.json[key] as? [String: Any])?.compactMapValues { $0 as? Int } ?? [:]
    }

    // MARK: End to end

    @Test func laptopAndPortalExchangeOverHTTP() throws {
        let setup = try Setup()
        let server = try Server(store: setup.portal)
        defer { server.stop() }
        let attachment = setup.scratch.path + "/results.pdf"
        _ = FileManager.default.createFile(atPath: attachment, contents: Data((0..<300_000).map { _ in UInt8.random(in: 0...255) }))
        let thread = try setup.compose("Lab results", attach: attachment)

        // First exchange: the thread goes up, the portal queues its notification.
        let first = try Self.sync(setup, server)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(Self.side(first, "sent")["threads"] == 1)
        #expect((Self.side(first, "sent")["bytes"] ?? 0) > 300_000)
        let threads = try CLI.run("thread", "list", "--store", setup.portal, "--json")
        let listed = (threads.json["threads"] as? [[String: Any]])?.compactMap { $0["thread"] as? String } ?? []
        #expect(listed == [thread])
        let outbox = try CLI.run("outbox", "list", "--store", setup.portal, "--json")
        #expect(((outbox.json["outbox"] as? [[String: Any]]) ?? []).isEmpty == false)

        // The patient replies on the portal; the next exchange brings it back (thread, message
        // and body) without re-sending the attachment or first message the laptop holds.
        let reply = try CLI.run("reply", thread, "--as", "u1", "--body", "Thank you, doctor.", "--store", setup.portal, "--json")
        #expect(reply.status == 0, "\(reply.stderr)")
        let second = try Self.sync(setup, server)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(Self.side(second, "received")["threads"] == 1)
        #expect(Self.side(second, "received")["objects"] == 3)
        #expect((Self.side(second, "received")["bytes"] ?? .max) < 20_000)
        let shown = try CLI.run("thread", "show", thread, "--store", setup.laptop, "--json")
        let messages = (shown.json["messages"] as? [[String: Any]]) ?? []
        #expect(messages.count == 2)
        #expect(messages.last?["body"] as? String == "Thank you, doctor.")

        // A third exchange with nothing new is small both ways.
        let third = try Self.sync(setup, server)
        #expect(third.status == 0, "\(third.stderr)")
        #expect(Self.side(third, "sent")["threads"] == 0)
        #expect(Self.side(third, "received")["threads"] == 0)
        #expect((Self.side(third, "sent")["bytes"] ?? .max) < 2_048)
        #expect((Self.side(third, "received")["bytes"] ?? .max) < 2_048)

        // The token is now bound to the laptop's replica.
        let list = try CLI.run("replica", "list", "--store", setup.portal, "--json")
        let entry = (list.json["replicas"] as? [[String: Any]])?.first
        #expect(entry?["replica"] as? String == "front-desk-laptop")
        #expect(entry?["boundTo"] as? String == (try CLI.run("stats", "--store", setup.laptop, "--json").json["replica"] as? String))
    }

    // MARK: Authentication

    @Test func wrongMissingOrRevokedTokensGet401AndChangeNothing() async throws {
        let setup = try Setup()
        _ = try setup.compose("Lab results")
        let server = try Server(store: setup.portal)
        defer { server.stop() }
        let bundle = setup.scratch.path + "/up.bundle"
        let portalReplica = try #require(try CLI.run("stats", "--store", setup.portal, "--json").json["replica"] as? String)
        #expect(try CLI.run("bundle", "create", "--for", portalReplica, "-o", bundle, "--store", setup.laptop).status == 0)
        let length = try #require(try FileManager.default.attributesOfItem(atPath: bundle)[.size] as? NSNumber).uint64Value
        let connection = HTTPConnection(endpoint: try SyncEndpoint(server.url))
        let before = setup.scratch.snapshot(setup.portal)

        let wrong = "sat1_" + String(repeating: "0", count: 64)
        for authorization in [nil, "Bearer " + wrong, "Bearer " + setup.token.dropLast() + "x", "Basic " + setup.token] as [String?] {
            let headers = authorization.map { [("Authorization", $0)] } ?? []
            let hello = try await connection.send(.GET, HTTPSyncProtocol.Path.hello, headers: headers, into: .memory(limit: 1 << 16))
            #expect(hello.status == 401)
            #expect(hello.headers.first(name: "WWW-Authenticate")?.hasPrefix("Bearer") == true)
            for path in [HTTPSyncProtocol.Path.push, HTTPSyncProtocol.Path.sync] {
                let push = try await connection.send(.POST, path, headers: headers, body: .file(bundle, length: length),
                                                     into: .memory(limit: 1 << 16))
                #expect(push.status == 401)
            }
        }
        // Through the CLI: a wrong token is refused (77) naming the 401.
        let wrongFile = setup.scratch.file("wrong-token", wrong)
        let refused = try Self.sync(setup, server, tokenFile: wrongFile)
        #expect(refused.status == 77)
        #expect(refused.stderr.contains("401"))
        // No token at all: a usage error before any request.
        let none = try CLI.run("sync", server.url, "--store", setup.laptop)
        #expect(none.status == 64)
        #expect(setup.scratch.snapshot(setup.portal) == before)

        // A revoked token: 401, and the portal changes nothing after the revoke itself.
        #expect(try CLI.run("replica", "revoke", "front-desk-laptop", "--store", setup.portal).status == 0)
        let afterRevoke = setup.scratch.snapshot(setup.portal)
        let revoked = try Self.sync(setup, server)
        #expect(revoked.status == 77)
        #expect(revoked.stderr.contains("401"))
        let push = try await connection.send(.POST, HTTPSyncProtocol.Path.push, headers: [("Authorization", "Bearer " + setup.token)],
                                             body: .file(bundle, length: length), into: .memory(limit: 1 << 16))
        #expect(push.status == 401)
        #expect(setup.scratch.snapshot(setup.portal) == afterRevoke)
        let list = try CLI.run("replica", "list", "--store", setup.portal, "--json")
        #expect(((list.json["replicas"] as? [[String: Any]])?.first?["revoked"] as? String) != nil)
    }

    @Test func aTokenBoundToOneReplicaIsRefusedForAnother() throws {
        let setup = try Setup()
        let server = try Server(store: setup.portal)
        defer { server.stop() }
        #expect(try Self.sync(setup, server).status == 0)
        let other = setup.scratch.path + "/other-laptop"
        #expect(try CLI.run("init", other, "--role", "workstation").status == 0)
        let before = setup.scratch.snapshot(setup.portal)
        let result = try CLI.run("sync", server.url, "--token-file", setup.tokenFile, "--store", other, "--json")
        #expect(result.status == 77)
        #expect(result.stderr.contains("403"))
        #expect(setup.scratch.snapshot(setup.portal) == before)
    }

    // MARK: Bad bundles

    @Test func aTamperedBundleGets4xxAndChangesNothing() async throws {
        let setup = try Setup()
        _ = try setup.compose("Lab results")
        let server = try Server(store: setup.portal)
        defer { server.stop() }
        let portalReplica = try #require(try CLI.run("stats", "--store", setup.portal, "--json").json["replica"] as? String)
        let bundle = setup.scratch.path + "/up.bundle"
        #expect(try CLI.run("bundle", "create", "--for", portalReplica, "-o", bundle, "--store", setup.laptop).status == 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: bundle))
        let connection = HTTPConnection(endpoint: try SyncEndpoint(server.url))
        let auth = [("Authorization", "Bearer " + setup.token)]
        let before = setup.scratch.snapshot(setup.portal)

        // A flipped byte in the header, in the pack, in the checksum; a truncated bundle; junk.
        let size = bytes.count
        for variant in [20, size / 2, size - 1].map({ offset -> Data in
            var copy = bytes
            copy[offset] ^= 0x40
            return copy
        }) + [bytes.prefix(size - 7), Data("not a bundle".utf8)] {
            for path in [HTTPSyncProtocol.Path.push, HTTPSyncProtocol.Path.sync] {
                let answer = try await connection.send(.POST, path, headers: auth, body: .bytes(Array(variant)),
                                                       into: .memory(limit: 1 << 16))
                #expect(answer.status == 400, "\(path): \(String(decoding: answer.body, as: UTF8.self))")
                #expect(String(decoding: answer.body, as: UTF8.self).split(separator: "\n").count == 1)
            }
        }
        #expect(setup.scratch.snapshot(setup.portal) == before)

        // The intact bundle is accepted (the setup was sound).
        bytes = try Data(contentsOf: URL(fileURLWithPath: bundle))
        let good = try await connection.send(.POST, HTTPSyncProtocol.Path.push, headers: auth, body: .bytes(Array(bytes)),
                                             into: .memory(limit: 1 << 16))
        #expect(good.status == 200, "\(String(decoding: good.body, as: UTF8.self))")
        // Applying it again through /v1/sync changes nothing and answers with the portal's bundle.
        let again = try await connection.send(.POST, HTTPSyncProtocol.Path.sync, headers: auth, body: .bytes(Array(bytes)),
                                              into: .memory(limit: 1 << 20))
        #expect(again.status == 200)
        #expect(again.headers.first(name: "Content-Type") == HTTPSyncProtocol.MediaType.bundle)
        #expect(Array(again.body.prefix(8)) == Array("SATCHBDL".utf8))
        #expect(again.headers.first(name: HTTPSyncProtocol.Header.threads) != nil)
    }

    // MARK: Tokens at rest

    @Test func tokensAreStoredOnlyAsSaltedHashes() throws {
        let setup = try Setup()
        let second = try CLI.run("replica", "register", "exam-room-2", "--store", setup.portal, "--json")
        let token2 = try #require(second.json["token"] as? String)
        #expect(token2 != setup.token)
        #expect(token2.hasPrefix("sat1_") && token2.utf8.count == 69)
        // Registering an active name again is refused (73).
        #expect(try CLI.run("replica", "register", "exam-room-2", "--store", setup.portal).status == 73)
        // A workstation has no tokens to register.
        #expect(try CLI.run("replica", "register", "x", "--store", setup.laptop).status == 77)

        for token in [setup.token, token2] {
            let secret = Data(token.dropFirst(5).utf8)
            // Raw files…
            for (path, data) in setup.scratch.snapshot(setup.portal) {
                #expect(data.range(of: secret) == nil, "token found in \(path)")
            }
            // …and every object, inflated.
            let repository = try Repository.open(at: setup.portal)
            for id in try repository.store.allObjectIDs() {
                let payload = Data(try repository.store.read(id).bytes)
                #expect(payload.range(of: secret) == nil, "token found in object \(id)")
            }
            #expect(try ReplicaTokens(repository).authenticate(token) != nil)
        }
    }

    @Test func tokenChecksAreExactAndConstantTimeComparisonsAgree() throws {
        #expect(ReplicaTokens.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!ReplicaTokens.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!ReplicaTokens.constantTimeEqual([1, 2, 3], [1, 2]))
        let scratch = Scratch()
        let repository = try Repository.create(at: scratch.path + "/p", role: .portal)
        let tokens = ReplicaTokens(repository)
        let (token, record) = try tokens.register("laptop-1")
        #expect(record.hash != token && !record.hash.contains(token.dropFirst(5)))
        #expect(try tokens.authenticate(token)?.name == "laptop-1")
        #expect(try tokens.authenticate(token + "0") == nil)
        #expect(try tokens.authenticate(String(token.dropLast())) == nil)
        #expect(try tokens.authenticate("") == nil)
        #expect(try tokens.authenticate(String(repeating: "a", count: 10_000)) == nil)
        #expect(try tokens.bind("laptop-1", replica: "r1"))
        #expect(try tokens.bind("laptop-1", replica: "r1"))
        #expect(try !tokens.bind("laptop-1", replica: "r2"))
        try tokens.revoke("laptop-1")
        #expect(try tokens.authenticate(token) == nil)
        // A revoked name can be registered again, with a new token.
        let (again, _) = try tokens.register("laptop-1")
        #expect(again != token)
        #expect(try tokens.authenticate(again)?.replica == nil)
        #expect(throws: SyncError.self) { try tokens.register("../etc") }
    }

    // MARK: Limits, in process

    @Test func oversizedBodiesGet413AndAServerStartsOnlyOnAPortal() async throws {
        let scratch = Scratch()
        let portal = try Repository.create(at: scratch.path + "/p", role: .portal)
        let workstation = try Repository.create(at: scratch.path + "/w", role: .workstation)
        #expect(throws: HTTPSyncError.self) { try SyncServer(repository: workstation) }
        let (token, _) = try ReplicaTokens(portal).register("laptop")
        var configuration = SyncServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.limits.maxBundleBytes = 4096
        configuration.limits.maxListEntries = 10
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let server = try SyncServer(repository: portal, configuration: configuration, logger: logger)
        let ports = AsyncStream<Int>.makeStream()
        let task = Task { try await server.run { port in ports.continuation.yield(port) } }
        defer { task.cancel() }
        var iterator = ports.stream.makeAsyncIterator()
        let port = try #require(await iterator.next())
        let connection = HTTPConnection(endpoint: try SyncEndpoint("http://127.0.0.1:\(port)"))
        let auth = [("Authorization", "Bearer " + token)]

        let hello = try await connection.send(.GET, HTTPSyncProtocol.Path.hello, headers: auth, into: .memory(limit: 1 << 16))
        #expect(hello.status == 200)
        let json = try JSONSerialization.jsonObject(with: Data(hello.body)) as? [String: Any]
        #expect(json?["replica"] as? String == portal.replica)
        #expect(json?["role"] as? String == "portal")

        let big = try await connection.send(.POST, HTTPSyncProtocol.Path.push, headers: auth, body: .bytes(Array(repeating: 7, count: 10_000)),
                                            into: .memory(limit: 1 << 16))
        #expect(big.status == 413)
        let ids = IDList.encode((0..<11).map { ObjectID.compute(kind: .blob, payload: [UInt8($0)]) })
        let list = try await connection.send(.POST, HTTPSyncProtocol.Path.have, headers: auth, body: .bytes(ids), into: .memory(limit: 1 << 16))
        #expect(list.status == 413)
        let junk = try await connection.send(.POST, HTTPSyncProtocol.Path.have, headers: auth, body: .bytes(Array("hello\n".utf8)),
                                             into: .memory(limit: 1 << 16))
        #expect(junk.status == 400)
        let huge = [("Authorization", "Bearer " + token), ("X-Padding", String(repeating: "p", count: 64 << 10))]
        let refused = try? await connection.send(.GET, HTTPSyncProtocol.Path.hello, headers: huge, into: .memory(limit: 1 << 16))
        #expect(refused.map { $0.status >= 400 } ?? true)
        let noReplica = try await connection.send(.POST, HTTPSyncProtocol.Path.offer, headers: auth, into: .memory(limit: 1 << 16))
        #expect(noReplica.status == 400)
    }
}

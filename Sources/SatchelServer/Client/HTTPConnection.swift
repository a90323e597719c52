import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import SystemPackage

/// One HTTP/1.1 request over a fresh connection, on SwiftNIO's HTTP codec (no other client
/// library): the request body streams from memory or a file, the response body into memory
/// (bounded) or a file (bounded), with back-pressure both ways.
struct HTTPConnection {
    enum Body: Sendable {
        case none
        case bytes([UInt8])
        case file(String, length: UInt64)
    }

    enum Sink {
        case memory(limit: Int)
        case file(String, limit: UInt64)
    }

    struct Result {
        var status: Int
        var headers: HTTPHeaders
        /// The body for `.memory`; empty for `.file`.
        var body: [UInt8]
        var bytes: UInt64
    }

    let endpoint: SyncEndpoint
    var connectTimeout: TimeAmount = .seconds(15)
    /// The exchange fails when no byte has gone either way for this long (a server that accepts
    /// and never answers, or stalls mid-answer).
    var idleTimeout: Duration = HTTPConnection.defaultIdleTimeout

    static let defaultIdleTimeout: Duration = .seconds(120)

    /// When bytes last moved, and whether the watchdog gave up.
    final class Activity: Sendable {
        private let state = Mutex<(last: ContinuousClock.Instant, expired: Bool)>((.now, false))
        func touch() { state.withLock { $0.last = .now } }
        /// Marks the exchange expired if idle for `limit`; true if it is (now or before).
        func expire(after limit: Duration) -> Bool {
            state.withLock {
                if ContinuousClock.now - $0.last >= limit { $0.expired = true }
                return $0.expired
            }
        }
        var expired: Bool { state.withLock { $0.expired } }
    }

    func send(_ method: HTTPMethod, _ path: String, headers extra: [(String, String)] = [], body: Body = .none,
              into sink: Sink) async throws -> Result {
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(connectTimeout)
                .connect(host: endpoint.host, port: endpoint.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw HTTPSyncError(.transport, "cannot connect to \(endpoint.display): \(error)")
        }

        var head = HTTPRequestHead(version: .http1_1, method: method, uri: endpoint.basePath + path)
        head.headers.add(name: "Host", value: endpoint.hostHeader)
        head.headers.add(name: "User-Agent", value: "satchel/1")
        head.headers.add(name: "Connection", value: "close")
        for (name, value) in extra { head.headers.add(name: name, value: value) }
        switch body {
        case .none: head.headers.add(name: "Content-Length", value: "0")
        case .bytes(let bytes): head.headers.add(name: "Content-Length", value: String(bytes.count))
        case .file(_, let length): head.headers.add(name: "Content-Length", value: String(length))
        }
        let requestHead = head

        let where_ = "\(method) \(endpoint.display)\(path)"
        let activity = Activity()
        let idle = idleTimeout
        let raw = channel.channel
        do {
            return try await channel.executeThenClose { inbound, outbound in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // The body goes out while the response is read, so an early answer (401, 413)
                    // is seen even if the server stops reading; write errors are then moot.
                    group.addTask {
                        do {
                            try await outbound.write(.head(requestHead))
                            activity.touch()
                            switch body {
                            case .none: break
                            case .bytes(let bytes): try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: bytes))))
                            case .file(let path, let length): try await Self.stream(path, length: length, to: outbound, activity: activity)
                            }
                            try await outbound.write(.end(nil))
                            activity.touch()
                        } catch {
                            // Reported by the reading side (closed connection) if it matters.
                        }
                    }
                    // The watchdog: closes the connection once nothing has moved for `idle`.
                    group.addTask {
                        let tick = min(idle / 4, .seconds(1))
                        while !Task.isCancelled {
                            try? await Task.sleep(for: tick)
                            if activity.expire(after: idle) {
                                raw.close(promise: nil)
                                return
                            }
                        }
                    }
                    defer { group.cancelAll() }
                    return try await Self.read(inbound, into: sink, where: where_, activity: activity)
                }
            }
        } catch where activity.expired {
            throw HTTPSyncError(.transport, "\(where_): no answer for \(Self.seconds(idle)) s; gave up (nothing of this answer was used)")
        }
    }

    static func seconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return value == value.rounded() ? String(Int(value)) : String(value)
    }

    private static func stream(_ path: String, length: UInt64,
                               to outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>, activity: Activity) async throws {
        let fd = try SystemPackage.FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
        defer { try? fd.close() }
        var sent: UInt64 = 0
        while sent < length {
            var buffer = ByteBufferAllocator().buffer(capacity: 256 << 10)
            let n = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 256 << 10) { try fd.read(into: $0) }
            if n == 0 { break }
            sent += UInt64(n)
            try await outbound.write(.body(.byteBuffer(buffer)))
            activity.touch()
        }
    }

    private static func read(_ inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>, into sink: Sink,
                             where place: String, activity: Activity) async throws -> Result {
        var result = Result(status: 0, headers: [:], body: [], bytes: 0)
        var file: SystemPackage.FileDescriptor?
        defer { try? file?.close() }
        if case .file(let path, _) = sink {
            file = try SystemPackage.FileDescriptor.open(FilePath(path), .writeOnly, options: [.create, .exclusiveCreate, .closeOnExec],
                                           permissions: [.ownerReadWrite])
        }
        var complete = false
        do {
            for try await part in inbound {
                activity.touch()
                switch part {
                case .head(let head):
                    result.status = Int(head.status.code)
                    result.headers = head.headers
                case .body(let buffer):
                    result.bytes += UInt64(buffer.readableBytes)
                    switch sink {
                    case .memory(let limit):
                        guard result.body.count + buffer.readableBytes <= limit || result.status != 200 else {
                            throw HTTPSyncError(.badInput, "\(place): the response is over the limit of \(limit) bytes")
                        }
                        if result.body.count < 4096 || result.status == 200 { result.body.append(contentsOf: buffer.readableBytesView) }
                    case .file(_, let limit):
                        guard result.bytes <= limit else {
                            throw HTTPSyncError(.badInput, "\(place): the response is over the limit of \(limit) bytes")
                        }
                        if result.status == 200, let file {
                            try buffer.withUnsafeReadableBytes { raw in
                                var offset = 0
                                while offset < raw.count { offset += try file.write(UnsafeRawBufferPointer(rebasing: raw[offset...])) }
                            }
                        } else if result.body.count < 4096 {
                            result.body.append(contentsOf: buffer.readableBytesView)
                        }
                    }
                case .end:
                    complete = true
                }
                if complete { break }
            }
        } catch let error as HTTPSyncError {
            throw error
        } catch {
            throw HTTPSyncError(.transport, "\(place): the connection failed: \(error)")
        }
        guard complete, result.status != 0 else {
            throw HTTPSyncError(.transport, "\(place): the server closed the connection before a complete answer")
        }
        return result
    }
}

/// A parsed `http://host[:port][/base]` sync URL.
public struct SyncEndpoint: Sendable, Equatable {
    /// Host name or address (an IPv6 address without brackets).
    public var host: String
    /// TCP port (80 when the URL gives none).
    public var port: Int
    /// Path prefix before `/v1/…` (empty, or starting with `/` and not ending with one).
    public var basePath: String

    /// Parses `text`; refuses (``HTTPSyncError/Code/usage``) `https://`, which this build's
    /// client does not speak, and anything but `http://HOST[:PORT][/PATH]` without query,
    /// fragment or user.
    public init(_ text: String) throws {
        if text.hasPrefix("https://") {
            throw HTTPSyncError(.usage, "\(text): https is not supported by this build's client yet; use http:// on a trusted network or a local tunnel")
        }
        guard text.hasPrefix("http://"), let components = URLComponents(string: text), let host = components.host,
              !host.isEmpty, components.query == nil, components.fragment == nil, components.user == nil else {
            throw HTTPSyncError(.usage, "\(text) is not a sync URL (http://HOST[:PORT][/PATH])")
        }
        self.host = host
        port = components.port ?? 80
        guard (1...65535).contains(port) else { throw HTTPSyncError(.usage, "\(text): port \(port) is out of range") }
        var path = components.path
        while path.hasSuffix("/") { path.removeLast() }
        basePath = path
    }

    var hostHeader: String { (host.contains(":") ? "[\(host)]" : host) + (port == 80 ? "" : ":\(port)") }
    var display: String { "http://" + hostHeader + basePath }
}

import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Synchronization

extension SyncServer {
    /// Runs raw request bytes through the same HTTP/1 path `run` serves (NIO's decoder with this
    /// server's limits, the ``ConnectionGuard``, Hummingbird's connection handler, the router and
    /// the sync routes, with their real store work) on an in-memory channel, then signals the
    /// end of input, and returns every byte written back. No socket is opened.
    ///
    /// The entry point for fuzzing HTTP request handling: a libFuzzer target can wrap it (block
    /// on it from `LLVMFuzzerTestOneInput`). Timers of the in-memory channel (header and body
    /// deadlines, linger) only fire as its clock is advanced here, 1 s per `tick` of real
    /// waiting; the whole call is bounded by `maxTicks`.
    @_spi(Fuzzing)
    public func respond(toRawRequest bytes: [UInt8], tick: Duration = .milliseconds(2), maxTicks: Int = 5_000) async -> [UInt8] {
        let logger = self.logger
        let responder = makeRouter().buildResponder()
        let http1 = HTTP1Channel(responder: { (request: Request, writer: consuming ResponseWriter, channel: any Channel) in
            let context = SyncRequestContext(source: .init(channel: channel, logger: logger))
            let response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch let error as HTTPParserError {
                throw error
            } catch {
                response = Response(status: .internalServerError)
            }
            try await writer.write(response: response.head, body: response.body)
        }, configuration: http1Configuration(table: nil))

        let channel = NIOAsyncTestingChannel()
        let done = Flag()
        do {
            let value = try await channel.eventLoop.flatSubmit { http1.setup(channel: channel, logger: logger) }.get()
            try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9))  // active, as an accepted socket is
            let handler = Task {
                await http1.handle(value: value, logger: logger)
                done.set()
            }
            // Decoder errors surface here as well as in the pipeline; the server answers them.
            _ = try? await channel.writeInbound(ByteBuffer(bytes: bytes))
            channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            var ticks = 0
            while !done.isSet && ticks < maxTicks {
                try? await Task.sleep(for: tick)
                ticks += 1
                if ticks % 25 == 0 { await channel.testingEventLoop.advanceTime(by: .seconds(1)) }
            }
            if !done.isSet {
                try? await channel.close()
                handler.cancel()
            }
            _ = await handler.value
        } catch {
            logger.debug("raw request channel failed: \(error)")
        }
        var out: [UInt8] = []
        while let buffer = try? await channel.readOutbound(as: ByteBuffer.self) {
            out.append(contentsOf: buffer.readableBytesView)
        }
        _ = try? await channel.finish()
        return out
    }
}

/// A flag one task sets and another polls.
final class Flag: Sendable {
    private let value = Mutex(false)
    init() {}
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

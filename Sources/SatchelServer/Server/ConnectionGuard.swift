import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// The open connections of one server, per peer address and in all.
///
/// A new connection is refused (closed at once) when its address already has `perPeer` open.
/// When the server already has `total` open, the oldest connection still waiting for its request
/// head is closed to make room (slow clients hold that state; legitimate ones leave it within
/// milliseconds); if none is waiting, the new connection is refused.
final class ConnectionTable: Sendable {
    let perPeer: Int
    let total: Int

    private struct Entry {
        var channel: any Channel
        var address: String?
        var serial: UInt64
        var awaitingHead = true
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var perAddress: [String: Int] = [:]
        var serial: UInt64 = 0

        mutating func remove(_ key: ObjectIdentifier) {
            guard let entry = entries.removeValue(forKey: key) else { return }
            if let address = entry.address {
                let left = perAddress[address, default: 1] - 1
                perAddress[address] = left > 0 ? left : nil
            }
        }
    }

    private let state = Mutex(State())

    init(perPeer: Int, total: Int) {
        self.perPeer = perPeer
        self.total = total
    }

    enum Admission {
        case admitted(evicting: (any Channel)?)
        case refused(String)
    }

    func open(_ channel: any Channel, address: String?) -> Admission {
        state.withLock { state in
            if let address, state.perAddress[address, default: 0] >= perPeer {
                return .refused("\(address) already has \(perPeer) connections open")
            }
            var evicted: (any Channel)?
            if state.entries.count >= total {
                guard let victim = state.entries.filter({ $0.value.awaitingHead }).min(by: { $0.value.serial < $1.value.serial }) else {
                    return .refused("the server has \(total) connections open, none of them idle")
                }
                evicted = victim.value.channel
                state.remove(victim.key)
            }
            state.serial += 1
            state.entries[ObjectIdentifier(channel)] = Entry(channel: channel, address: address, serial: state.serial)
            if let address { state.perAddress[address, default: 0] += 1 }
            return .admitted(evicting: evicted)
        }
    }

    func headArrived(_ channel: any Channel) {
        state.withLock { $0.entries[ObjectIdentifier(channel)]?.awaitingHead = false }
    }

    func close(_ channel: any Channel) {
        state.withLock { $0.remove(ObjectIdentifier(channel)) }
    }

    var count: Int { state.withLock { $0.entries.count } }
}

/// Deadlines and caps on one HTTP connection, in its pipeline right after the HTTP codec:
///
/// - at most ``ConnectionTable/perPeer`` open connections per peer address and
///   ``ConnectionTable/total`` in all (see there);
/// - the request head must be complete within `headerTimeout` of the connection opening;
/// - while the server waits for body bytes, they must come at `minBodyBytesPerSecond` on
///   average once `bodyGrace` of waiting has passed. The clock starts when the route starts
///   reading the body (``BodyWanted``, sent by ``BodyReader``), and a second counts only while
///   the server has a read outstanding: time the server spends elsewhere (authenticating,
///   queued for the thread pool, busy with the bytes it has) is never the client's;
/// - every response carries `Connection: close`, and once it is written the connection's output
///   is shut and the rest of the request is read and discarded for at most `lingerTimeout`
///   before the connection closes (so a client still sending a body refused early, say after a
///   401, reads the answer instead of a reset).
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    struct Limits: Sendable {
        var headerTimeout: TimeAmount
        var bodyGrace: TimeAmount
        var minBodyBytesPerSecond: Int
        var lingerTimeout: TimeAmount
    }

    enum Phase { case idle, head, body, responding, lingering, closed }

    /// The outbound user event a route sends when it starts reading the request body.
    struct BodyWanted: Sendable {}

    private let limits: Limits
    private let table: ConnectionTable?
    private let logger: Logger
    private var channel: (any Channel)?
    private var phase = Phase.idle
    private var timer: Scheduled<Void>?
    private var readPending = false
    private var inputClosed = false
    private var bodyBytes = 0
    private var waitedTicks = 0
    private var bodyClock = false

    init(limits: Limits, table: ConnectionTable?, logger: Logger) {
        self.limits = limits
        self.table = table
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard phase == .idle else { return }
        phase = .head
        if let table {
            switch table.open(context.channel, address: context.channel.remoteAddress?.ipAddress) {
            case .refused(let reason):
                logger.info("refused a connection: \(reason)")
                phase = .closed
                context.close(promise: nil)
                return
            case .admitted(let evicting):
                channel = context.channel
                if let evicting {
                    logger.info("closed the oldest connection still waiting for its request head, to make room")
                    evicting.close(promise: nil)
                }
            }
        }
        schedule(context, in: limits.headerTimeout) { guard_, context in
            guard guard_.phase == .head else { return }
            guard_.logger.info("closed a connection whose request head did not arrive in time")
            guard_.close(context)
        }
    }

    private func finish() {
        phase = .closed
        timer?.cancel()
        timer = nil
        if let channel, let table {
            table.close(channel)
            self.channel = nil
        }
    }

    private func close(_ context: ChannelHandlerContext) {
        finish()
        context.close(promise: nil)
    }

    private func schedule(_ context: ChannelHandlerContext, in delay: TimeAmount,
                          _ body: @escaping (ConnectionGuard, ChannelHandlerContext) -> Void) {
        timer?.cancel()
        let loop = context.eventLoop.assumeIsolated()
        timer = loop.scheduleTask(in: delay) { [self] in
            self.timer = nil
            body(self, context)
        }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        readPending = false
        if phase == .idle { start(context) }
        switch phase {
        case .lingering, .closed, .idle:
            return  // discarded
        case .head, .body, .responding:
            break
        }
        switch unwrapInboundIn(data) {
        case .head:
            if phase == .head {
                phase = .body
                if let channel { table?.headArrived(channel) }
                timer?.cancel()  // the header deadline; the body clock waits for BodyWanted
                timer = nil
            }
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
        case .end:
            if phase == .body {
                phase = .responding
                timer?.cancel()
                timer = nil
            }
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if phase == .lingering {
            context.read()
        } else {
            context.fireChannelReadComplete()
        }
    }

    func read(context: ChannelHandlerContext) {
        readPending = true
        context.read()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            inputClosed = true
            if phase == .lingering {
                close(context)
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Once a second while the body is being read: the minimum body rate.
    private func tick(_ context: ChannelHandlerContext) {
        schedule(context, in: .seconds(1)) { guard_, context in
            guard guard_.phase == .body else { return }
            if guard_.readPending { guard_.waitedTicks += 1 }
            let grace = Int(guard_.limits.bodyGrace.nanoseconds / 1_000_000_000)
            if guard_.waitedTicks > grace,
               guard_.bodyBytes < guard_.limits.minBodyBytesPerSecond * (guard_.waitedTicks - grace) {
                guard_.logger.info("closed a connection whose request body came too slowly (\(guard_.bodyBytes) bytes in \(guard_.waitedTicks) s)")
                guard_.close(context)
                return
            }
            guard_.tick(context)
        }
    }

    // MARK: Outbound

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is BodyWanted else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        if phase == .body, !bodyClock {
            bodyClock = true
            tick(context)
        }
        promise?.succeed(())
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head):
            head.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            guard phase != .lingering, phase != .closed else {
                context.write(data, promise: promise)
                return
            }
            phase = .lingering
            timer?.cancel()
            timer = nil
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            context.writeAndFlush(data, promise: written)
            written.futureResult.assumeIsolated().whenComplete { [self] _ in
                guard self.phase == .lingering else { return }
                if self.inputClosed {
                    self.close(context)
                    return
                }
                context.close(mode: .output, promise: nil)
                context.read()
                self.schedule(context, in: self.limits.lingerTimeout) { guard_, context in
                    guard_.close(context)
                }
            }
        }
    }
}

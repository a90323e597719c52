import Hummingbird
import NIOCore

/// The request context of the sync routes: Hummingbird's core context and the request's
/// channel, which the body reader tells when the route starts waiting for body bytes.
struct SyncRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// Reads a request body chunk by chunk. The first read tells the connection's
/// ``ConnectionGuard`` that the route now waits for the body, which starts its minimum-rate
/// clock: time the server spends before that (authenticating, queued for the thread pool) is
/// the server's, not a slow client's. Every route that reads a body reads it through this type.
struct BodyReader {
    private var chunks: RequestBody.AsyncIterator
    private let channel: any Channel
    private var announced = false

    init(_ request: Request, _ context: SyncRequestContext) {
        chunks = request.body.makeAsyncIterator()
        channel = context.channel
    }

    /// The next chunk, nil at the end. A body that cannot be read (broken chunked framing, a
    /// connection closed before `Content-Length` bytes came) is the client's fault: 400.
    mutating func next() async throws -> ByteBuffer? {
        if !announced {
            announced = true
            channel.triggerUserOutboundEvent(ConnectionGuard.BodyWanted(), promise: nil)
        }
        do {
            return try await chunks.next()
        } catch {
            throw Problem(.badRequest, "the request body is malformed or was cut short")
        }
    }
}

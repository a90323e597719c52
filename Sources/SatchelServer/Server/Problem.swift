import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import SatchelMessaging
import SatchelStore
import SatchelSync

/// An error answer: a status and one line of text naming what was wrong.
///
/// ``init(mapping:)`` is the one place where errors become HTTP statuses (docs/FORMAT.md, "HTTP
/// sync", 3.1): the caller's mistakes are 4xx with the reason, a busy store 503, and only the
/// server's own faults 500.
struct Problem: Error {
    var status: HTTPResponse.Status
    var message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    /// The answer for `error`, or nil when it is a server fault (500, details in the log only).
    init?(mapping error: any Error) {
        switch error {
        case let problem as Problem:
            self = problem
        case let error as SyncError:
            let status: HTTPResponse.Status = switch error.code {
            case .badInput, .notFound: .badRequest
            case .missingPrerequisite, .exists: .conflict
            case .refused: .unprocessableContent
            }
            self.init(status, error.message)
        case let refusal as ReplicaTokens.Refusal:
            self.init(.forbidden, refusal.message)
        case let error as MessagingError:
            let status: HTTPResponse.Status = switch error.code {
            case .refused: .unprocessableContent
            case .notFound, .invalidInput, .usage: .badRequest
            case .conflict: .conflict
            }
            self.init(status, error.message)
        case let error as StoreError:
            switch error.code {
            case .busy: self.init(.serviceUnavailable, "the portal store is busy; try again shortly")
            case .conflict: self.init(.conflict, "the portal changed meanwhile; nothing was changed, try again")
            case .tooLarge: self.init(.contentTooLarge, error.message)
            case .invalidArgument: self.init(.badRequest, error.message)
            default: return nil  // damage or I/O in the portal's own store
            }
        case let error as HTTPParserError:
            // The request's framing is broken: a bad chunk size, a body cut short, junk.
            self.init(.badRequest, "the request is malformed (\(error)) or its body was cut short")
        default:
            return nil
        }
    }

    var response: Response {
        var headers = HTTPFields()
        headers[.contentType] = HTTPSyncProtocol.MediaType.text
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"satchel\"" }
        if status == .serviceUnavailable { headers[.retryAfter] = "5" }
        let line = message.replacingOccurrences(of: "\n", with: " ") + "\n"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: line)))
    }
}

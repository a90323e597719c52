#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import SystemPackage

/// A point in the syscall layer (`Sys`) where a fault can be injected: every durable write in
/// Satchel passes through one of these.
public enum FaultPoint: String, Sendable, CaseIterable {
    /// write(2) of file content (objects, packs, refs, logs, bundles, archives, exports).
    case write
    /// fsync(2) of a file.
    case fsync
    /// rename(2), including the no-replace publish of a ``DurableFile``.
    case rename
    /// link(2).
    case link
    /// fsync(2) of a directory, or syncfs(2).
    case dirsync
}

/// What to do at the chosen fault point: fail with an errno (EIO, ENOSPC, …), or stop the
/// process there with SIGKILL (a power cut, as far as the store can tell).
public struct FaultPlan: Sendable, Equatable, CustomStringConvertible {
    /// Fail the call with an errno, or kill the process.
    public enum Action: Sendable, Equatable {
        case fail(Errno)
        case kill
    }

    /// The point counted; nil counts every point.
    public var point: FaultPoint?
    /// The fault fires on the `nth` pass (1-based) through the point.
    public var nth: Int
    /// What happens when the fault fires.
    public var action: Action

    /// A plan: on the `nth` pass through `point` (any point when nil), do `action`.
    public init(point: FaultPoint?, nth: Int, action: Action) {
        self.point = point
        self.nth = nth
        self.action = action
    }

    /// Parses `op=fsync,nth=3,errno=EIO` (errno one of `EIO`, `ENOSPC`, `kill`; op one of the
    /// ``FaultPoint`` names or `any`): the form of the `SATCHEL_FAULT` environment variable.
    public init?(parsing text: String) {
        var point: FaultPoint?? = nil
        var nth: Int?
        var action: Action?
        for field in text.split(separator: ",") {
            let pair = field.split(separator: "=", maxSplits: 1).map { String($0).trimmingWhitespace() }
            guard pair.count == 2 else { return nil }
            switch pair[0] {
            case "op":
                if pair[1] == "any" { point = .some(nil) } else if let p = FaultPoint(rawValue: pair[1]) { point = .some(p) } else { return nil }
            case "nth":
                guard let n = Int(pair[1]), n >= 1 else { return nil }
                nth = n
            case "errno", "action":
                switch pair[1].uppercased() {
                case "EIO": action = .fail(.ioError)
                case "ENOSPC": action = .fail(.noSpace)
                case "EDQUOT": action = .fail(.diskQuotaExceeded)
                case "KILL": action = .kill
                default: return nil
                }
            default: return nil
            }
        }
        guard let point, let nth, let action else { return nil }
        self.init(point: point, nth: nth, action: action)
    }

    public var description: String {
        let what: String
        switch action {
        case .fail(let errno): what = errno == .noSpace ? "ENOSPC" : errno == .ioError ? "EIO" : "errno \(errno.rawValue)"
        case .kill: what = "kill"
        }
        return "op=\(point?.rawValue ?? "any"),nth=\(nth),errno=\(what)"
    }
}

/// Fault injection under the store, in the spirit of swift-system's mocking: the syscall layer
/// asks `check(_:)` before every write, fsync, rename, link and directory sync.
///
/// A plan is active either for one task tree (``withPlan(_:_:)``, what tests use: parallel
/// tests do not see each other's plans) or for the whole process from the `SATCHEL_FAULT`
/// environment variable (what CLI-process tests and Tools/CrashCampaign use). Without either,
/// the cost is one task-local read per syscall.
public enum FaultInjection {
    /// Counts passes through each point and fires the plan once.
    public final class Session: Sendable {
        /// The plan, or nil to only count passes.
        public let plan: FaultPlan?
        private let state = Mutex<(counts: [FaultPoint: Int], total: Int, fired: Bool)>(([:], 0, false))

        /// A session that fires `plan` once.
        public init(plan: FaultPlan?) { self.plan = plan }

        /// True once the plan's fault was injected.
        public var fired: Bool { state.withLock { $0.fired } }
        /// Passes through each point so far.
        public var counts: [FaultPoint: Int] { state.withLock { $0.counts } }
        /// Passes through any point so far.
        public var total: Int { state.withLock { $0.total } }

        func pass(_ point: FaultPoint) -> FaultPlan.Action? {
            state.withLock { state -> FaultPlan.Action? in
                state.counts[point, default: 0] += 1
                state.total += 1
                guard let plan, !state.fired else { return nil }
                let count = plan.point.map { state.counts[$0, default: 0] } ?? state.total
                guard plan.point == nil || plan.point == point, count == plan.nth else { return nil }
                state.fired = true
                return plan.action
            }
        }
    }

    @TaskLocal static var current: Session?

    /// The plan of `SATCHEL_FAULT`, read once per process.
    static let environment: Session? = {
        guard let raw = getenv("SATCHEL_FAULT") else { return nil }
        let text = String(cString: raw)
        guard !text.isEmpty else { return nil }
        guard let plan = FaultPlan(parsing: text) else {
            let warning = Array("satchel: ignoring SATCHEL_FAULT='\(text)' (expected op=write|fsync|rename|link|dirsync|any,nth=N,errno=EIO|ENOSPC|kill)\n".utf8)
            _ = warning.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            return nil
        }
        return Session(plan: plan)
    }()

    /// Runs `body` with `plan` active for this task and the tasks it starts; returns the session
    /// (counts, whether the fault fired) along with the result.
    public static func withPlan<T>(_ plan: FaultPlan?, _ body: () throws -> T) rethrows -> (result: T, session: Session) {
        let session = Session(plan: plan)
        let result = try $current.withValue(session) { try body() }
        return (result, session)
    }

    /// Async form of ``withPlan(_:_:)``.
    public static func withPlan<T>(_ plan: FaultPlan?, _ body: () async throws -> T) async rethrows -> (result: T, session: Session) {
        let session = Session(plan: plan)
        let result = try await $current.withValue(session) { try await body() }
        return (result, session)
    }

    /// Called by `Sys` before the operation; throws the planned errno or kills the process.
    static func check(_ point: FaultPoint) throws(Errno) {
        guard let session = current ?? environment, let action = session.pass(point) else { return }
        switch action {
        case .fail(let errno):
            throw errno
        case .kill:
            _ = kill(getpid(), SIGKILL)
            while true { pause() }
        }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}

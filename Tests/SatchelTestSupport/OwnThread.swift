import Foundation

/// Runs `body` on a new thread (not Swift's cooperative pool) and returns its result. Tests that
/// block for seconds (waiting on processes, long synchronous checks) run through this: blocking a
/// pool thread starves the in-process HTTP servers of other tests running at the same time.
/// Expectations belong after the `await`, in the test's own task.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}

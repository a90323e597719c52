/// A progress report from a long operation (large attachments, bulk sends, bundles). The
/// engine calls the handler at a modest rate; front ends decide how to show it.
public struct ProgressEvent: Sendable, Equatable {
    /// What `completed` and `total` count.
    public enum Unit: Sendable, Equatable { case bytes, items }

    /// What is happening, in a few words ("storing attachments", "writing threads").
    public var phase: String
    /// Done so far.
    public var completed: UInt64
    /// Known total, if any.
    public var total: UInt64?
    /// Bytes or items.
    public var unit: Unit

    /// An event.
    public init(phase: String, completed: UInt64, total: UInt64?, unit: Unit) {
        self.phase = phase
        self.completed = completed
        self.total = total
        self.unit = unit
    }
}

/// Receives ``ProgressEvent``s. May be called from any thread.
public typealias ProgressHandler = @Sendable (ProgressEvent) -> Void

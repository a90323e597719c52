/// A version vector: replica ID → counter of that replica's own edits. Counters of zero are not
/// stored, so two vectors that differ only by zero entries are equal.
///
/// Written as `<version><counter replica="R" value="N"/>...</version>`, entries sorted by replica
/// ID (byte order), values ≥ 1.
public struct VersionVector: Sendable, Hashable {
    /// Nonzero counters by replica ID.
    public private(set) var counters: [String: UInt64]

    /// A vector of these counters (zero entries are dropped).
    public init(_ counters: [String: UInt64] = [:]) {
        self.counters = counters.filter { $0.value != 0 }
    }

    /// The counter of `replica` (0 when absent). Setting 0 removes the entry.
    public subscript(replica: String) -> UInt64 {
        get { counters[replica] ?? 0 }
        set { counters[replica] = newValue == 0 ? nil : newValue }
    }

    /// The entries in canonical order.
    public var sortedEntries: [(replica: String, counter: UInt64)] {
        counters.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            .map { (replica: $0.key, counter: $0.value) }
    }
}

/// One event of a replica: the replica ID and its counter after the event.
public struct Dot: Sendable, Hashable, Comparable {
    /// The replica that made the event.
    public var replica: String
    /// That replica's counter after the event (≥ 1).
    public var counter: UInt64

    /// A dot.
    public init(replica: String, counter: UInt64) {
        self.replica = replica
        self.counter = counter
    }

    /// Orders by replica (byte order), then counter.
    public static func < (a: Dot, b: Dot) -> Bool {
        if a.replica != b.replica { return a.replica.utf8.lexicographicallyPrecedes(b.replica.utf8) }
        return a.counter < b.counter
    }
}

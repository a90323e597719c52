/// The abstract history a harness keeps beside the real stores: every thread change as an
/// event with its causal past, what each replica has seen, and the bundles in flight.
///
/// It is the oracle the real engine is judged against. It knows nothing of the manifest
/// format: a replica's thread must show what its set of events implies (docs/ARCHITECTURE.md,
/// "Sync invariants"), whatever order the events arrived in.
public struct Event: Hashable, Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case compose, staffReply, patientReply, close, reopen, repliesOff, repliesOn
        var isMessage: Bool { self == .compose || self == .staffReply || self == .patientReply }
    }

    /// `<replica>.<n>`: the n-th event written on that model replica.
    public var id: String
    public var kind: Kind
    /// The events the writing replica had seen when it wrote this one (causally closed).
    public var past: Set<String>
}

/// What a thread shows: closed or open, replies on or off.
public struct Flags: Hashable, Sendable, CustomStringConvertible {
    public var closed: Bool
    public var allowReplies: Bool

    public init(closed: Bool, allowReplies: Bool) {
        self.closed = closed
        self.allowReplies = allowReplies
    }

    public var description: String { (closed ? "closed" : "open") + (allowReplies ? "/replies-on" : "/replies-off") }
}

public enum Oracle {
    /// The flags a set of events implies: among the flag events no other flag event of the set
    /// has seen (the undominated ones), the restrictive value wins (closed over open, replies
    /// off over on). The first message opens the thread with replies on.
    public static func flags(_ known: Set<String>, _ events: [String: Event]) -> Flags {
        let present = known.compactMap { events[$0] }
        func restrictiveWins(_ kinds: Set<Event.Kind>, restrictive: Event.Kind) -> Bool {
            let candidates = present.filter { kinds.contains($0.kind) }
            let undominated = candidates.filter { e in !candidates.contains { $0.past.contains(e.id) } }
            return undominated.contains { $0.kind == restrictive }
        }
        return Flags(closed: restrictiveWins([.compose, .close, .reopen], restrictive: .close),
                     allowReplies: !restrictiveWins([.compose, .repliesOff, .repliesOn], restrictive: .repliesOff))
    }

    /// The messages among `known`.
    public static func messages(_ known: Set<String>, _ events: [String: Event]) -> Set<String> {
        known.filter { events[$0]?.kind.isMessage == true }
    }

    /// A canonical text for a set of events with their causal pasts: two histories that end
    /// with the same text wrote the same operations with the same causal relations.
    public static func describe(_ known: Set<String>, _ events: [String: Event]) -> String {
        known.sorted().map { id in
            let e = events[id]!
            return "\(id):\(e.kind.rawValue)<\(e.past.sorted().joined(separator: ","))>"
        }.joined(separator: " ")
    }
}

/// A bundle made and not yet forgotten: it may be delivered later, several times, in any order.
public struct PendingBundle: Sendable {
    public var path: String
    public var from: Int
    public var to: Int
    /// The events its source had seen when it was made.
    public var carried: Set<String>
    public var deliveries = 0
    /// A bundle for a replica that no longer exists (lost laptop): its apply is refused.
    public var orphaned = false
}

/// The abstract state of a history (a value: the explorer copies it with the stores).
public struct Model: Sendable {
    public var names: [String]
    public var events: [String: Event] = [:]
    public var known: [Set<String>]
    public var counters: [Int]
    /// What each replica's own view showed after its last step.
    public var observed: [Flags]
    public var pending: [PendingBundle] = []
    /// Message ID (random, from the engine) → event ID.
    public var labels: [String: String] = [:]
    /// Messages whose write returned success (event IDs).
    public var acknowledged: Set<String> = []
    /// Messages that were acknowledged but legitimately lost with a lost replica.
    public var lost: Set<String> = []
    public var thread = ""
    /// Model name of every replica ID a history has used: the template's fixed ones, and the
    /// random ID each restore draws (so end states compare by role, not by a random ID).
    public var replicaNames: [String: String] = [:]
    public var bundlesMade = 0
    public var clock: Int64 = 0
    /// The steps taken so far (to print a failing history).
    public var trace: [String] = []

    public init(names: [String]) {
        self.names = names
        known = Array(repeating: [], count: names.count)
        counters = Array(repeating: 0, count: names.count)
        observed = Array(repeating: Flags(closed: false, allowReplies: true), count: names.count)
    }

    /// Records a new event written on replica `r`.
    public mutating func write(_ kind: Event.Kind, on r: Int) -> String {
        counters[r] += 1
        let id = "\(names[r]).\(counters[r])"
        events[id] = Event(id: id, kind: kind, past: known[r])
        known[r].insert(id)
        return id
    }

    public var union: Set<String> { known.reduce(into: Set<String>()) { $0.formUnion($1) } }
}

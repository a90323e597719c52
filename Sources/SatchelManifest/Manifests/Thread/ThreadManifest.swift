import SatchelStore

/// The head of one conversation (vocabulary `urn:satchel:thread:2`): the thread's fixed identity,
/// its version vector and the set of its immutable events. Patient-visible: no Bcc, no drafts.
///
/// A thread *is* the set of its events: every message, close, reopen, replies on/off and read
/// receipt is an immutable, content-addressed object with its author, time, dot and causal
/// context. Status, allow-replies and the conflict view are functions of the event set (see
/// ``status``), and merging two heads is set union (``union(_:)``): a join by construction, so
/// the same events encode to the same bytes on every replica, in any exchange order.
///
/// Identity (``id``, ``patient``, ``created``, ``subject``, ``firstMessage`` and the initial
/// ``initialAllowReplies``) never changes; two heads that differ in it are not the same thread.
///
/// Version 1 heads (flag registers and message references) are still read: they decode into
/// this model with *legacy* events (see ``Event/legacy``) and are written as version 2.
public struct ThreadManifest: Manifest, Hashable {
    public static let vocabulary = Vocabulary.thread

    /// Whether patients may reply at all: a closed thread takes no patient replies.
    public enum Status: String, Sendable, CaseIterable { case open, closed }

    /// One event as listed in the head.
    public struct Event: Sendable, Hashable {
        /// What an event is: a message, a flag change, or a read receipt.
        public enum Kind: String, Sendable, CaseIterable {
            case message, close, reopen, repliesOn, repliesOff, read
        }

        /// What the event is.
        public var kind: Kind
        /// The event's dot. Absent only for a legacy message (read from a version 1 head).
        public var dot: Dot?
        /// When it happened (for a message, when it was sent).
        public var at: Timestamp
        /// Who made it. Absent only for legacy events.
        public var by: MessageManifest.Author?
        /// The event object: a ``MessageManifest`` for messages, a ``ThreadEvent`` otherwise.
        /// Absent only for legacy flag events (a version 1 register has no object).
        public var object: ObjectID?
        /// The message ID (messages only).
        public var message: String?
        /// The thread's version vector when the event was made (flag and read events; empty for
        /// messages, whose context is in the message manifest).
        public var context: VersionVector

        /// An event entry with these fields.
        public init(kind: Kind, dot: Dot?, at: Timestamp, by: MessageManifest.Author?, object: ObjectID?,
                    message: String? = nil, context: VersionVector = VersionVector()) {
            self.kind = kind
            self.dot = dot
            self.at = at
            self.by = by
            self.object = object
            self.message = message
            self.context = context
        }

        /// A message event.
        public static func message(_ id: String, object: ObjectID, dot: Dot, sent: Timestamp,
                                   by: MessageManifest.Author) -> Event {
            Event(kind: .message, dot: dot, at: sent, by: by, object: object, message: id)
        }

        /// The head entry of a flag or read event manifest.
        public init(_ event: ThreadEvent, object: ObjectID) {
            self.init(kind: event.kind, dot: event.dot, at: event.at, by: event.by, object: object,
                      context: event.context)
        }

        /// True for an event read from a version 1 head (no dot, author or object recorded).
        public var legacy: Bool { dot == nil || by == nil || object == nil }

        /// What identifies the event in a set: its dot, or for a legacy message its message ID.
        public var key: Key {
            if let dot { return .dot(dot) }
            return .legacyMessage(message ?? "")
        }

        /// A dot, or a legacy message's ID.
        public enum Key: Hashable, Sendable { case dot(Dot), legacyMessage(String) }

        /// Canonical order: time, then dot (legacy messages first), then message ID.
        static func precedes(_ a: Event, _ b: Event) -> Bool {
            if a.at != b.at { return a.at < b.at }
            switch (a.dot, b.dot) {
            case (nil, .some): return true
            case (.some, nil): return false
            case let (.some(x), .some(y)) where x != y: return x < y
            default: return (a.message ?? "").utf8.lexicographicallyPrecedes((b.message ?? "").utf8)
            }
        }

        var isStatus: Bool { kind == .close || kind == .reopen }
        var isReplies: Bool { kind == .repliesOn || kind == .repliesOff }
        /// Flag events by portal users are never legitimate: they take no part in the state.
        var countsAsFlag: Bool { (isStatus || isReplies) && by?.kind != .portalUser }
    }

    /// A reference to one immutable message manifest.
    public struct MessageReference: Sendable, Hashable {
        /// The message ID.
        public var id: String
        /// The message manifest.
        public var object: ObjectID
        /// When the message was sent.
        public var sent: Timestamp
        /// A message reference.
        public init(id: String, object: ObjectID, sent: Timestamp) {
            self.id = id
            self.object = object
            self.sent = sent
        }
    }

    /// A flag edit that is undominated but lost to a concurrent, more restrictive one: which
    /// flag, the losing value (`open|closed` or `true|false`) and the dot of the losing edit.
    public struct FlagConflict: Sendable, Hashable, Comparable {
        /// The thread's two flags: `status` and `allowReplies`.
        public enum Flag: String, Sendable, CaseIterable { case status, allowReplies }
        /// Which flag.
        public var flag: Flag
        /// The losing value.
        public var value: String
        /// The dot of the losing edit.
        public var dot: Dot
        /// A conflict entry.
        public init(flag: Flag, value: String, dot: Dot) {
            self.flag = flag
            self.value = value
            self.dot = dot
        }

        public static func < (a: FlagConflict, b: FlagConflict) -> Bool {
            if a.flag != b.flag { return a.flag.rawValue < b.flag.rawValue }
            if a.dot != b.dot { return a.dot < b.dot }
            return a.value.utf8.lexicographicallyPrecedes(b.value.utf8)
        }
    }

    /// What can make two heads impossible to merge.
    public enum UnionError: Error, Sendable, Equatable {
        /// The heads disagree on the thread's fixed identity (named field).
        case identity(String)
        /// One dot (or one message ID) names two different events.
        case inconsistentEvent(String)
    }

    /// Thread ID (`T-…`).
    public let id: String
    /// The patient the conversation is with.
    public let patient: String
    /// Subject of the conversation, fixed when it was opened.
    public let subject: String
    /// When the thread was opened.
    public let created: Timestamp
    /// The message that opened the thread.
    public let firstMessage: String
    /// Whether patients could reply when the thread was opened.
    public let initialAllowReplies: Bool
    /// Covers every event's dot (pointwise maximum, for a version 1 head at least its vector).
    public private(set) var version: VersionVector
    /// Sorted canonically (``Event/precedes(_:_:)``); unique keys and message IDs.
    public private(set) var events: [Event]

    /// A new thread opened by its first message (dot `(replica, 1)`).
    public init(id: String, patient: String, subject: String, created: Timestamp, allowReplies: Bool,
                firstMessage: String, object: ObjectID, replica: String, by: MessageManifest.Author) {
        self.id = id
        self.patient = patient
        self.subject = subject
        self.created = created
        self.firstMessage = firstMessage
        self.initialAllowReplies = allowReplies
        let dot = Dot(replica: replica, counter: 1)
        version = VersionVector([replica: 1])
        events = [.message(firstMessage, object: object, dot: dot, sent: created, by: by)]
    }

    /// A head from its parts, checked: unique event keys and message IDs, a version covering
    /// every dot, the first message present, flag events with dots and contexts.
    public init(id: String, patient: String, subject: String, created: Timestamp, firstMessage: String,
                initialAllowReplies: Bool, version: VersionVector, events: [Event]) throws(ManifestError) {
        self.id = id
        self.patient = patient
        self.subject = subject
        self.created = created
        self.firstMessage = firstMessage
        self.initialAllowReplies = initialAllowReplies
        self.version = version
        self.events = []
        var keys = Set<Event.Key>(), messageIDs = Set<String>()
        for event in events {
            guard keys.insert(event.key).inserted else {
                throw ManifestError(.duplicate, "thread \(id) lists one event twice")
            }
            if event.kind == .message {
                guard let message = event.message, messageIDs.insert(message).inserted else {
                    throw ManifestError(.duplicate, "thread \(id) lists a message event without an ID or one message twice")
                }
            } else {
                guard event.message == nil, let dot = event.dot else {
                    throw ManifestError(.invalidValue, "thread \(id) has a \(event.kind.rawValue) event without a dot or with a message")
                }
                guard !event.context.covers(dot) else {
                    throw ManifestError(.invalidValue, "thread \(id) has an event whose context contains its own dot")
                }
            }
            if let dot = event.dot, !version.covers(dot) {
                throw ManifestError(.invalidValue, "thread \(id) has an event that its version vector does not cover")
            }
        }
        guard messageIDs.contains(firstMessage) else {
            throw ManifestError(.missing, "thread \(id) does not list its first message")
        }
        self.events = events.sorted(by: Event.precedes)
    }

    /// Adds an event made on this replica: its dot must be the next one of its replica.
    public mutating func append(_ event: Event) {
        guard let dot = event.dot else { preconditionFailure("a new event has a dot") }
        precondition(dot.counter == version[dot.replica] + 1, "a new event takes the next dot of its replica")
        precondition(event.kind != .message || !events.contains { $0.message == event.message }, "one event per message")
        version[dot.replica] = dot.counter
        let index = events.firstIndex { Event.precedes(event, $0) } ?? events.endIndex
        events.insert(event, at: index)
    }

    /// The dot the next event made on `replica` takes, and the context it is made in.
    public func nextDot(on replica: String) -> (dot: Dot, context: VersionVector) {
        (Dot(replica: replica, counter: version[replica] + 1), version)
    }

    /// The set union of two heads of the same thread: events by key, versions pointwise. Refuses
    /// heads whose identity differs or that disagree about one event.
    public func union(_ other: ThreadManifest) throws(UnionError) -> ThreadManifest {
        if self == other { return self }
        for (name, same) in [("ID", id == other.id), ("patient", patient == other.patient),
                             ("creation time", created == other.created), ("subject", subject == other.subject),
                             ("first message", firstMessage == other.firstMessage),
                             ("initial allow-replies", initialAllowReplies == other.initialAllowReplies)] where !same {
            throw .identity(name)
        }
        var byKey: [Event.Key: Event] = [:]
        var keyOfMessage: [String: Event.Key] = [:]
        for event in events + other.events {
            if let existing = byKey[event.key] {
                guard existing == event else { throw .inconsistentEvent("one event key names two different events") }
                continue
            }
            if let message = event.message {
                if let key = keyOfMessage[message], key != event.key {
                    throw .inconsistentEvent("message \(message) appears as two different events")
                }
                keyOfMessage[message] = event.key
            }
            byKey[event.key] = event
        }
        var result = self
        result.version = version.merged(with: other.version)
        result.events = byKey.values.sorted(by: Event.precedes)
        return result
    }
}

// MARK: - State: functions of the event set

extension ThreadManifest {
    /// Open unless an undominated close stands (a concurrent close beats a reopen).
    public var status: Status { state(of: events).status }

    /// Whether patients may reply: the initial value unless undominated replies events stand
    /// (a concurrent "off" beats "on").
    public var allowReplies: Bool { state(of: events).allowReplies }

    /// Undominated flag events that lost to a concurrent, more restrictive one.
    public var conflicts: [FlagConflict] { state(of: events).conflicts }

    /// The messages, sorted by (sent, ID).
    public var messages: [MessageReference] {
        events.compactMap { e in
            guard e.kind == .message, let id = e.message, let object = e.object else { return nil }
            return MessageReference(id: id, object: object, sent: e.at)
        }.sorted { a, b in
            if a.sent != b.sent { return a.sent < b.sent }
            return a.id.utf8.lexicographicallyPrecedes(b.id.utf8)
        }
    }

    /// The message event of `messageID`.
    public func event(ofMessage messageID: String) -> Event? {
        events.first { $0.kind == .message && $0.message == messageID }
    }

    /// Status and allow-replies in the history that `context` covers: what someone who had seen
    /// exactly that history saw. Rules on received messages are judged here, at the message's own
    /// causal point, never on the receiver's current state.
    public func state(covering context: VersionVector) -> (status: Status, allowReplies: Bool) {
        let seen = events.filter { e in e.dot.map(context.covers) ?? false }
        let s = state(of: seen)
        return (s.status, s.allowReplies)
    }

    private func state(of events: [Event]) -> (status: Status, allowReplies: Bool, conflicts: [FlagConflict]) {
        var conflicts: [FlagConflict] = []
        let statusEvents = Self.undominated(events.filter { $0.countsAsFlag && $0.isStatus })
        let status: Status = statusEvents.contains { $0.kind == .close } ? .closed : .open
        if status == .closed {
            for e in statusEvents where e.kind == .reopen {
                if let dot = e.dot { conflicts.append(FlagConflict(flag: .status, value: Status.open.rawValue, dot: dot)) }
            }
        }
        let replyEvents = Self.undominated(events.filter { $0.countsAsFlag && $0.isReplies })
        let allow: Bool
        if replyEvents.contains(where: { $0.kind == .repliesOff }) {
            allow = false
            for e in replyEvents where e.kind == .repliesOn {
                if let dot = e.dot { conflicts.append(FlagConflict(flag: .allowReplies, value: "true", dot: dot)) }
            }
        } else if !replyEvents.isEmpty {
            allow = true
        } else {
            allow = initialAllowReplies
        }
        return (status, allow, conflicts.sorted())
    }

    /// Flag events that no other event of the same flag has seen.
    private static func undominated(_ flags: [Event]) -> [Event] {
        flags.filter { e in
            guard let dot = e.dot else { return true }
            return !flags.contains { other in other.dot != dot && other.context.covers(dot) }
        }
    }
}

import SatchelStore

/// The head of one conversation (vocabulary `urn:satchel:thread:1`): the thread's flags as
/// registers tagged with the dot of the edit that set them, its version vector, the set of its
/// messages and the record of flag conflicts that merges resolved. Patient-visible: no Bcc, no
/// drafts.
///
/// Messages are a set keyed by message ID, kept sorted by (sent, ID); conflicts are kept sorted
/// too. So a value built in any order, and the same state merged on two replicas, encode to the
/// same bytes.
public struct ThreadManifest: Manifest, Hashable {
    public static let vocabulary = Vocabulary.thread

    public enum Status: String, Sendable, CaseIterable { case open, closed }

    /// A flag value and the dot (replica, counter) of the edit that set it.
    public struct Register<Value: Sendable & Hashable>: Sendable, Hashable {
        public var value: Value
        public var dot: Dot
        public init(_ value: Value, dot: Dot) {
            self.value = value
            self.dot = dot
        }
    }

    /// A reference to one immutable message manifest.
    public struct MessageReference: Sendable, Hashable {
        public var id: String
        public var object: ObjectID
        public var sent: Timestamp
        public init(id: String, object: ObjectID, sent: Timestamp) {
            self.id = id
            self.object = object
            self.sent = sent
        }
    }

    /// A concurrent flag edit that lost when two heads were merged: which flag, the losing value
    /// (`open|closed` or `true|false`) and the dot of the losing edit.
    public struct FlagConflict: Sendable, Hashable, Comparable {
        public enum Flag: String, Sendable, CaseIterable { case status, allowReplies }
        public var flag: Flag
        public var value: String
        public var dot: Dot
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

    public var id: String
    public var patient: String
    public var subject: String
    public var created: Timestamp
    public var status: Register<Status>
    public var allowReplies: Register<Bool>
    public var version: VersionVector
    /// Sorted by (sent, ID); unique IDs.
    public private(set) var messages: [MessageReference]
    /// Sorted; no duplicates.
    public private(set) var conflicts: [FlagConflict]

    public init(id: String, patient: String, subject: String, created: Timestamp, status: Register<Status>,
                allowReplies: Register<Bool>, version: VersionVector, messages: [MessageReference] = [],
                conflicts: [FlagConflict] = []) {
        self.id = id
        self.patient = patient
        self.subject = subject
        self.created = created
        self.status = status
        self.allowReplies = allowReplies
        self.version = version
        self.messages = []
        self.conflicts = Array(Set(conflicts)).sorted()
        for m in messages { insert(m) }
    }

    /// Adds a message reference (a message with the same ID replaces the old reference).
    public mutating func insert(_ message: MessageReference) {
        messages.removeAll { $0.id == message.id }
        let index = messages.firstIndex { Self.precedes(message, $0) } ?? messages.endIndex
        messages.insert(message, at: index)
    }

    /// Records a lost concurrent flag edit (no-op if already recorded).
    public mutating func record(_ conflict: FlagConflict) {
        guard !conflicts.contains(conflict) else { return }
        conflicts.append(conflict)
        conflicts.sort()
    }

    static func precedes(_ a: MessageReference, _ b: MessageReference) -> Bool {
        if a.sent != b.sent { return a.sent < b.sent }
        return a.id.utf8.lexicographicallyPrecedes(b.id.utf8)
    }
}

extension ThreadManifest {
    /// Children in order: `subject`, `status`, `allowReplies`, `version`, `message`*, `conflict`*.
    public func encode(to w: CanonicalWriter) throws {
        try w.start("thread", [("created", created.description), ("id", id), ("patient", patient)])
        try w.textElement("subject", subject)
        try w.empty("status", [("counter", String(status.dot.counter)), ("replica", status.dot.replica),
                               ("value", status.value.rawValue)])
        try w.empty("allowReplies", [("counter", String(allowReplies.dot.counter)),
                                     ("replica", allowReplies.dot.replica), ("value", String(allowReplies.value))])
        try version.encode(to: w)
        for m in messages {
            try w.empty("message", [("id", m.id), ("object", m.object.description), ("sent", m.sent.description)])
        }
        for c in conflicts {
            try w.empty("conflict", [("counter", String(c.dot.counter)), ("flag", c.flag.rawValue),
                                     ("replica", c.dot.replica), ("value", c.value)])
        }
        try w.end()
    }

    public init(element: ManifestElement) throws(ManifestError) {
        let ns = Self.vocabulary.namespace
        var r = try ElementReader(element, name: "thread", namespace: ns)
        let id = try r.string("id"), patient = try r.string("patient"), created = try r.timestamp("created")
        try r.finish()
        var subject = SingleChild(), status = SingleChild(), allow = SingleChild(), version = SingleChild()
        var messages: [MessageReference] = [], conflicts: [FlagConflict] = []
        var messageIDs = Set<String>()
        for child in try r.children(namespace: ns) {
            switch child.name {
            case "subject": try subject.set(child)
            case "status": try status.set(child)
            case "allowReplies": try allow.set(child)
            case "version": try version.set(child)
            case "message":
                var c = try ElementReader(child, name: "message", namespace: ns)
                let message = MessageReference(id: try c.string("id"), object: try c.objectID("object"),
                                               sent: try c.timestamp("sent"))
                try c.finish()
                guard messageIDs.insert(message.id).inserted else {
                    throw child.error(.duplicate, "message ID \(message.id) appears more than once")
                }
                messages.append(message)
            case "conflict":
                var c = try ElementReader(child, name: "conflict", namespace: ns)
                conflicts.append(FlagConflict(flag: try c.value("flag"), value: try c.string("value"),
                                              dot: Dot(replica: try c.string("replica"),
                                                       counter: try c.uint64("counter", minimum: 1))))
                try c.finish()
            default:
                throw child.unexpectedChild()
            }
            if child.name != "version" && child.name != "subject", let extra = child.children.first {
                throw extra.unexpectedChild()
            }
        }
        let subjectElement = try subject.required(in: element, "subject")
        let subjectText = try ElementReader(subjectElement, name: "subject", namespace: ns).textOnly()
        try ElementReader(subjectElement, name: "subject", namespace: ns).finish(textAllowed: true)
        var s = try ElementReader(try status.required(in: element, "status"), name: "status", namespace: ns)
        let statusRegister = Register<Status>(try s.value("value"), dot: try Self.dot(&s))
        try s.finish()
        var a = try ElementReader(try allow.required(in: element, "allowReplies"), name: "allowReplies", namespace: ns)
        let allowRegister = Register<Bool>(try a.bool("value"), dot: try Self.dot(&a))
        try a.finish()
        self.init(id: id, patient: patient, subject: subjectText, created: created, status: statusRegister,
                  allowReplies: allowRegister,
                  version: try VersionVector(element: try version.required(in: element, "version"), namespace: ns),
                  messages: messages, conflicts: conflicts)
    }

    private static func dot(_ r: inout ElementReader) throws(ManifestError) -> Dot {
        Dot(replica: try r.string("replica"), counter: try r.uint64("counter", minimum: 1))
    }
}

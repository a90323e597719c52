import SatchelStore

extension ThreadManifest {
    /// Version 2. Children in order: `subject`, `version`, `event`* (canonical event order).
    /// A non-message event has its context as a `<version>` child; a message event has none.
    public func encode(to w: CanonicalWriter) throws {
        try w.start("thread", [("allowReplies", String(initialAllowReplies)), ("created", created.description),
                               ("firstMessage", firstMessage), ("id", id), ("patient", patient)])
        try w.textElement("subject", subject)
        try version.encode(to: w)
        for e in events {
            let attributes: [(String, String?)] = [
                ("at", e.at.description), ("by", e.by?.id), ("counter", e.dot.map { String($0.counter) }),
                ("kind", e.kind.rawValue), ("legacy", e.legacy ? "true" : nil), ("message", e.message),
                ("object", e.object?.description), ("replica", e.dot?.replica), ("role", e.by?.kind.rawValue),
            ]
            if e.kind == .message {
                try w.empty("event", attributes)
            } else {
                try w.start("event", attributes)
                try e.context.encode(to: w)
                try w.end()
            }
        }
        try w.end()
    }

    public init(element: ManifestElement) throws(ManifestError) {
        if element.namespace == Self.vocabulary.namespace(version: 1) {
            try self.init(legacy: element)
            return
        }
        let ns = Self.vocabulary.namespace
        var r = try ElementReader(element, name: "thread", namespace: ns)
        let allow = try r.bool("allowReplies"), created = try r.timestamp("created")
        let first = try r.string("firstMessage"), id = try r.string("id"), patient = try r.string("patient")
        try r.finish()
        var subject = SingleChild(), version = SingleChild()
        var events: [Event] = []
        for child in try r.children(namespace: ns) {
            switch child.name {
            case "subject": try subject.set(child)
            case "version": try version.set(child)
            case "event": events.append(try Self.event(child, namespace: ns))
            default: throw child.unexpectedChild()
            }
        }
        let subjectElement = try subject.required(in: element, "subject")
        let subjectText = try ElementReader(subjectElement, name: "subject", namespace: ns).textOnly()
        try ElementReader(subjectElement, name: "subject", namespace: ns).finish(textAllowed: true)
        let vector = try VersionVector(element: try version.required(in: element, "version"), namespace: ns)
        do {
            try self.init(id: id, patient: patient, subject: subjectText, created: created, firstMessage: first,
                          initialAllowReplies: allow, version: vector, events: events)
        } catch {
            throw element.error(error.code, error.message)
        }
    }

    private static func event(_ element: ManifestElement, namespace ns: String) throws(ManifestError) -> Event {
        var r = try ElementReader(element, name: "event", namespace: ns)
        let at = try r.timestamp("at")
        let byID = r.optionalString("by")
        var counter: UInt64?
        if r.has("counter") { counter = try r.uint64("counter", minimum: 1) }
        let kind: Event.Kind = try r.value("kind")
        let legacy = try r.optionalBool("legacy") ?? false
        let message = r.optionalString("message")
        var object: ObjectID?
        if r.has("object") { object = try r.objectID("object") }
        let replica = r.optionalString("replica")
        let role: MessageManifest.Author.Kind? = try r.optionalValue("role")
        try r.finish()
        guard (counter == nil) == (replica == nil), (byID == nil) == (role == nil) else {
            throw element.error(.missing, "<event> needs replica with counter and by with role")
        }
        let dot = replica.map { Dot(replica: $0, counter: counter ?? 1) }
        let by = byID.map { MessageManifest.Author(id: $0, kind: role ?? .staff) }
        let event = Event(kind: kind, dot: dot, at: at, by: by, object: object, message: message)
        guard event.legacy == legacy else {
            throw element.error(legacy ? .invalidValue : .missing,
                                legacy ? "a legacy event records too much" : "<event> is missing its dot, author or object")
        }
        if legacy, kind == .message ? object == nil : dot == nil {
            throw element.error(.missing, "a legacy \(kind.rawValue) event is missing its \(kind == .message ? "object" : "dot")")
        }
        var result = event
        let children = try r.children(namespace: ns)
        if kind == .message {
            if let extra = children.first { throw extra.unexpectedChild() }
        } else {
            guard children.count == 1, let context = children.first, context.name == "version" else {
                throw element.error(.missing, "a \(kind.rawValue) event needs exactly one <version> child")
            }
            result.context = try VersionVector(element: context, namespace: ns)
        }
        return result
    }

    /// Reads a version 1 head: message references become legacy message events; the status
    /// register, unless it still carries the creation dot (the allow-replies register's, which
    /// version 1 never changed after creation), and every recorded conflict become legacy flag
    /// events with the context their own replica must have had (`counter - 1`).
    init(legacy element: ManifestElement) throws(ManifestError) {
        let ns = Self.vocabulary.namespace(version: 1)
        var r = try ElementReader(element, name: "thread", namespace: ns)
        let id = try r.string("id"), patient = try r.string("patient"), created = try r.timestamp("created")
        try r.finish()
        var subject = SingleChild(), status = SingleChild(), allow = SingleChild(), version = SingleChild()
        var messages: [MessageReference] = []
        var flags: [(kind: Event.Kind, dot: Dot)] = []
        for child in try r.children(namespace: ns) {
            switch child.name {
            case "subject": try subject.set(child)
            case "status": try status.set(child)
            case "allowReplies": try allow.set(child)
            case "version": try version.set(child)
            case "message":
                var c = try ElementReader(child, name: "message", namespace: ns)
                messages.append(MessageReference(id: try c.string("id"), object: try c.objectID("object"),
                                                 sent: try c.timestamp("sent")))
                try c.finish()
            case "conflict":
                var c = try ElementReader(child, name: "conflict", namespace: ns)
                let flag: FlagConflict.Flag = try c.value("flag")
                let value = try c.string("value")
                let dot = Dot(replica: try c.string("replica"), counter: try c.uint64("counter", minimum: 1))
                try c.finish()
                switch (flag, value) {
                case (.status, "open"): flags.append((.reopen, dot))
                case (.status, "closed"): flags.append((.close, dot))
                case (.allowReplies, "true"): flags.append((.repliesOn, dot))
                case (.allowReplies, "false"): flags.append((.repliesOff, dot))
                default: throw child.error(.invalidValue, "conflict value does not fit its flag")
                }
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
        let statusValue: Status = try s.value("value")
        let statusDot = Dot(replica: try s.string("replica"), counter: try s.uint64("counter", minimum: 1))
        try s.finish()
        var a = try ElementReader(try allow.required(in: element, "allowReplies"), name: "allowReplies", namespace: ns)
        let allowValue = try a.bool("value")
        let allowDot = Dot(replica: try a.string("replica"), counter: try a.uint64("counter", minimum: 1))
        try a.finish()
        let vector = try VersionVector(element: try version.required(in: element, "version"), namespace: ns)
        messages.sort { ($0.sent, $0.id) < ($1.sent, $1.id) }
        guard let first = messages.first else { throw element.error(.missing, "a thread has at least one message") }
        // Version 1 had no operation that changed allow-replies after creation: its register
        // always carries the creation dot, so its value is the initial one. The status register
        // is a flag event unless it still carries that dot.
        let initialAllow = allowValue
        if statusDot != allowDot {
            flags.append((statusValue == .closed ? .close : .reopen, statusDot))
        }
        var events = messages.map { m in
            Event(kind: .message, dot: nil, at: m.sent, by: nil, object: m.object, message: m.id)
        }
        var seen = Set<Dot>()
        var covering = vector
        for flag in flags where seen.insert(flag.dot).inserted {
            covering[flag.dot.replica] = max(covering[flag.dot.replica], flag.dot.counter)
            let context = VersionVector([flag.dot.replica: flag.dot.counter - 1])
            events.append(Event(kind: flag.kind, dot: flag.dot, at: created, by: nil, object: nil, context: context))
        }
        do {
            try self.init(id: id, patient: patient, subject: subjectText, created: created, firstMessage: first.id,
                          initialAllowReplies: initialAllow, version: covering, events: events)
        } catch {
            throw element.error(error.code, error.message)
        }
    }
}

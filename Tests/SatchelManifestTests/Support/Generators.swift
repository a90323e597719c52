import PropertyBased
import SatchelStore
@testable import SatchelManifest

/// Random building blocks for manifests, on top of PropertyBased's seeded generator. Values stay
/// inside each vocabulary's schema (IDs, emails, media types), while free text exercises every
/// character class the writer must escape.
struct Draw: RandomNumberGenerator {
    var base: any SeededRandomNumberGenerator

    mutating func next() -> UInt64 { base.next() }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
    mutating func bool() -> Bool { Bool.random(using: &self) }
    mutating func maybe<T>(_ make: (inout Draw) -> T) -> T? { bool() ? make(&self) : nil }
    mutating func pick<T>(_ options: [T]) -> T { options[int(0...(options.count - 1))] }
    mutating func list<T>(_ count: ClosedRange<Int>, _ make: (inout Draw) -> T) -> [T] {
        (0..<int(count)).map { _ in make(&self) }
    }

    private static let idChars = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    /// Characters that stress escaping and encoding, none of which XML 1.0 forbids.
    private static let textPieces = ["a", "Z", "0", " ", "  ", "\n", "\t", "\r", "\r\n", "&", "<", ">", "\"", "'",
                                     "]]>", "&amp;", "é", "ß", "漢字", "🩺", "\u{7F}", "\u{85}", "\u{FEFF}",
                                     "\u{2028}", "{{link}}", "Ω"]

    /// A schema-valid identifier, prefixed so kinds never collide.
    mutating func id(_ prefix: String) -> String {
        prefix + String((0..<int(1...12)).map { _ in pick(Self.idChars) })
    }

    mutating func text(_ length: ClosedRange<Int> = 0...40) -> String {
        (0..<int(length)).map { _ in pick(Self.textPieces) }.joined()
    }

    /// Non-empty text (names).
    mutating func name() -> String { text(1...20) }

    mutating func objectID() -> ObjectID {
        ObjectID(bytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &self) })!
    }

    mutating func timestamp() -> Timestamp {
        let ms = Int64.random(in: Timestamp.range, using: &self)
        return Timestamp(millisecondsSinceEpoch: bool() ? ms : ms / 1000 * 1000)
    }

    mutating func counter() -> UInt64 { bool() ? UInt64(int(1...100)) : UInt64.random(in: 1...UInt64.max, using: &self) }

    mutating func versionVector() -> VersionVector {
        var vector = VersionVector()
        for _ in 0..<int(0...5) { vector[id("r")] = counter() }
        return vector
    }

    mutating func dot() -> Dot { Dot(replica: id("r"), counter: counter()) }

    mutating func body() -> BodyReference {
        BodyReference(object: objectID(), format: pick(BodyReference.Format.allCases),
                      length: UInt64.random(in: 0...UInt64.max, using: &self))
    }

    mutating func attachment() -> AttachmentReference {
        AttachmentReference(name: name(), mediaType: pick(["application/pdf", "image/jpeg", "text/plain; charset=utf-8"]),
                            size: UInt64.random(in: 0...UInt64.max, using: &self), object: objectID(),
                            sha256: objectID().hex)
    }
}

/// A PropertyBased generator from a `Draw` closure (no shrinking).
func generator<T: Sendable>(_ make: @Sendable @escaping (inout Draw) -> T) -> Generator<T, Shrink.None<T>> {
    Generator(run: { rng in
        var draw = Draw(base: rng)
        let value = make(&draw)
        rng = draw.base
        return value
    })
}

enum Manifests {
    static let store = generator { d in
        StoreConfig(formatVersion: d.int(1...1000), replica: d.id("r"), role: d.pick(StoreConfig.Role.allCases),
                    name: d.maybe { $0.name() }, created: d.timestamp(), retiredReplicas: d.list(0...4) { $0.id("r") })
    }

    static let directory = generator { d in
        let staff = (0..<d.int(0...6)).map { i in
            Directory.Staff(id: "s\(i)" + d.id("-"), name: d.name(),
                            permissions: d.bool() ? [.sendBulkPortalMessage] : [])
        }
        let patients = (0..<d.int(0...6)).map { i in
            Directory.Patient(id: "p\(i)" + d.id("-"), name: d.name(), status: d.pick(Directory.Patient.Status.allCases),
                              email: d.maybe { $0.id("") + "@" + $0.id("") }, cell: d.maybe { "+1555\($0.int(1000...99999))" },
                              portalAccess: d.bool())
        }
        let users = patients.isEmpty ? [] : (0..<d.int(0...8)).map { i in
            Directory.PortalUser(id: "u\(i)" + d.id("-"), patient: d.pick(patients).id,
                                 role: d.pick(Directory.PortalUser.Role.allCases), active: d.bool(), name: d.name())
        }
        let lists = (0..<d.int(0...3)).map { i in
            Directory.DistributionList(id: "l\(i)" + d.id("-"), name: d.name(),
                                       members: staff.isEmpty ? [] : d.list(0...3) { $0.pick(staff).id })
        }
        let settings = Directory.Settings(
            defaultAllowReplies: d.bool(),
            labels: (0..<d.int(0...3)).map { i in Directory.Label(key: "k\(i)", value: d.name()) },
            notificationTemplates: (0..<d.int(0...2)).map { i in
                Directory.NotificationTemplate(id: "n\(i)", channel: d.pick(Directory.NotificationTemplate.Channel.allCases),
                                               text: d.text())
            },
            messageTemplates: (0..<d.int(0...2)).map { i in
                Directory.MessageTemplate(id: "t\(i)", subject: d.text(), body: d.text(0...200))
            })
        return Directory(settings: settings, staff: staff, distributionLists: lists, patients: patients, portalUsers: users)
    }

    /// A thread head as replicas make them: each event takes the next dot of its replica, and
    /// its context is a history its replica could have seen (never its own dot).
    static let thread = generator { d in
        let replicas = (0..<d.int(1...3)).map { "r\($0)" + d.id("-") }
        var counts: [String: UInt64] = [:]
        func next(_ d: inout Draw) -> Dot {
            let replica = d.pick(replicas)
            counts[replica, default: 0] += 1
            return Dot(replica: replica, counter: counts[replica]!)
        }
        func context(_ d: inout Draw, for dot: Dot) -> VersionVector {
            var vector = VersionVector()
            for (replica, count) in counts {
                let limit = replica == dot.replica ? count - 1 : count
                if limit > 0 { vector[replica] = UInt64(d.int(0...Int(limit))) }
            }
            return vector
        }
        let created = d.timestamp()
        let first = "m0" + d.id("-")
        let author = MessageManifest.Author(id: d.id("s"), kind: .staff)
        var events = [ThreadManifest.Event.message(first, object: d.objectID(), dot: next(&d), sent: created, by: author)]
        for i in 0..<d.int(0...8) {
            let dot = next(&d)
            let kind = d.pick(ThreadManifest.Event.Kind.allCases)
            let by = MessageManifest.Author(id: d.id("a"), kind: d.pick(MessageManifest.Author.Kind.allCases))
            if kind == .message {
                events.append(.message("m\(i + 1)" + d.id("-"), object: d.objectID(), dot: dot, sent: d.timestamp(), by: by))
            } else {
                events.append(.init(kind: kind, dot: dot, at: d.timestamp(), by: by, object: d.objectID(),
                                    context: context(&d, for: dot)))
            }
        }
        return try! ThreadManifest(id: d.id("t"), patient: d.id("p"), subject: d.text(), created: created,
                                   firstMessage: first, initialAllowReplies: d.bool(), version: VersionVector(counts),
                                   events: events)
    }

    static let message = generator { d in
        MessageManifest(id: d.id("m"), thread: d.id("t"),
                        author: .init(id: d.id("a"), kind: d.pick(MessageManifest.Author.Kind.allCases)),
                        sent: d.timestamp(), recipients: d.list(0...10) { $0.id("u") }, toStaff: d.list(0...3) { $0.id("s") },
                        subject: d.text(), body: d.body(), attachments: d.list(0...3) { $0.attachment() })
    }

    static let envelope = generator { d in
        StaffEnvelope(message: d.id("m"), thread: d.id("t"), bccStaff: d.list(0...4) { $0.id("s") },
                      bccLists: d.list(0...3) { $0.id("l") })
    }

    static let draft = generator { d in
        DraftManifest(id: d.id("d"), author: d.id("s"), updated: d.timestamp(), version: d.versionVector(),
                      thread: d.maybe { $0.id("t") }, patient: d.maybe { $0.id("p") },
                      bulk: d.maybe { $0.pick(DraftManifest.Bulk.allCases) }, template: d.maybe { $0.id("t") },
                      allowReplies: d.maybe { $0.bool() }, recipients: d.list(0...5) { $0.id("u") },
                      toStaff: d.list(0...3) { $0.id("s") }, bccLists: d.list(0...2) { $0.id("l") },
                      subject: d.maybe { $0.text() }, body: d.maybe { $0.body() },
                      attachments: d.list(0...3) { $0.attachment() })
    }

    static let draftTombstone = generator { d in
        DraftManifest.tombstone(id: d.id("d"), author: d.id("s"), state: d.pick(DraftManifest.State.allCases),
                                updated: d.timestamp(), version: d.versionVector())
    }

    static let draftSet = generator { d in
        DraftSet(id: d.id("d"), versions: d.list(2...6) { $0.objectID() })
    }
}

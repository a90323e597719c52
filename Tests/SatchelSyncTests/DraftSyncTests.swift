import Foundation
import PropertyBased
import SatchelManifest
import SatchelMessaging
import SatchelStore
import Testing
@testable import SatchelSync

func at(_ seconds: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: 1_777_000_000_000 + seconds * 1000) }

func saveDraft(_ repository: Repository, subject: String = "Draft subject", body: String = "draft body",
               now: Timestamp = at(0)) throws -> String {
    var request = ComposeRequest(author: "s1")
    request.patient = "p1"
    request.subject = subject
    request.body = .text(body)
    return try repository.saveDraft(request, now: now)
}

func editDraft(_ repository: Repository, _ id: String, subject: String, now: Timestamp) throws {
    var update = DraftUpdate()
    update.subject = subject
    try repository.updateDraft(id, as: "s1", update, now: now)
}

/// Drafts between workstations: concurrent edits kept as siblings, a later edit resolving them,
/// send and discard as tombstones, and never a draft on a portal.
@Suite struct DraftSyncTests {
    /// Two workstations that share draft `id` (synced once).
    static func sharedDraft() throws -> (Clinic, Repository, Repository, String) {
        let clinic = Clinic()
        let ws1 = try clinic.store("ws1", .workstation), ws2 = try clinic.store("ws2", .workstation)
        let id = try saveDraft(ws1)
        _ = try SyncEngine(ws1).sync(with: ws2)
        #expect(try ws2.draft(id, as: "s1").draft.subject == "Draft subject")
        return (clinic, ws1, ws2, id)
    }

    static func draftHeads(_ repository: Repository) throws -> [String: ObjectID] {
        try Clinic.heads(repository, prefix: "drafts/")
    }

    @Test(arguments: [false, true])
    func concurrentEditsAreKeptAsSiblingsWithIdenticalHeads(ws2First: Bool) throws {
        let (clinic, ws1, ws2, id) = try Self.sharedDraft()
        defer { withExtendedLifetime(clinic) {} }
        try editDraft(ws1, id, subject: "Edited on ws1", now: at(10))
        try editDraft(ws2, id, subject: "Edited on ws2", now: at(20))
        if ws2First { _ = try SyncEngine(ws2).sync(with: ws1) } else { _ = try SyncEngine(ws1).sync(with: ws2) }

        #expect(try Self.draftHeads(ws1) == Self.draftHeads(ws2))
        for ws in [ws1, ws2] {
            let (head, current) = try ws.draftVersions(id, as: "s1")
            #expect(head.siblings.count == 2 && head.live.count == 2)
            #expect(Set(head.siblings.compactMap(\.draft.subject)) == ["Edited on ws1", "Edited on ws2"])
            #expect(current.subject == "Edited on ws2")  // the most recently updated one
            guard case .draftSet(let set) = try ws.loadAny(head.object) else {
                Issue.record("a draft with two versions points at a draft set")
                return
            }
            #expect(set.versions == head.siblings.map(\.object))
            #expect(try ws.drafts(as: "s1").map(\.draft) == [id])
        }
    }

    @Test func bundlesMadeBeforeEitherApplyMergeToTheSameSetAndCountAsMerged() throws {
        let (clinic, ws1, ws2, id) = try Self.sharedDraft()
        try editDraft(ws1, id, subject: "A", now: at(10))
        try editDraft(ws2, id, subject: "B", now: at(10))
        let toWs2 = clinic.bundlePath(), toWs1 = clinic.bundlePath()
        _ = try SyncEngine(ws1).createBundle(for: ws2.replica, targetRole: .workstation, to: toWs2)
        _ = try SyncEngine(ws2).createBundle(for: ws1.replica, targetRole: .workstation, to: toWs1)
        let r1 = try SyncEngine(ws1).applyBundle(toWs1)
        let r2 = try SyncEngine(ws2).applyBundle(toWs2)
        #expect(r1.merged == 1 && r2.merged == 1)
        #expect(try Self.draftHeads(ws1) == Self.draftHeads(ws2))
        // Applying again changes nothing.
        #expect(try SyncEngine(ws1).applyBundle(toWs1).unchanged == 1)
        #expect(try Self.draftHeads(ws1) == Self.draftHeads(ws2))
    }

    @Test func aLaterEditDominatesTheSiblings() throws {
        let (clinic, ws1, ws2, id) = try Self.sharedDraft()
        defer { withExtendedLifetime(clinic) {} }
        try editDraft(ws1, id, subject: "Edited on ws1", now: at(10))
        try editDraft(ws2, id, subject: "Edited on ws2", now: at(20))
        _ = try SyncEngine(ws1).sync(with: ws2)
        let siblings = try #require(try ws1.draftHead(id))
        // An edit on ws1 starts from the most recent sibling (ws2's subject) and replaces the set.
        var update = DraftUpdate()
        update.body = .text("resolved body")
        try ws1.updateDraft(id, as: "s1", update, now: at(30))
        let resolved = try #require(try ws1.draftHead(id))
        #expect(resolved.siblings.count == 1)
        #expect(resolved.siblings[0].draft.subject == "Edited on ws2")
        for sibling in siblings.siblings { #expect(resolved.siblings[0].draft.version.compare(sibling.draft.version) == .ahead) }
        let result = try SyncEngine(ws1).sync(with: ws2)
        #expect(result.sent.objects > 0)
        #expect(try Self.draftHeads(ws1) == Self.draftHeads(ws2))
        let (head, current) = try ws2.draftVersions(id, as: "s1")
        #expect(head.siblings.count == 1 && current.subject == "Edited on ws2")
        #expect(String(decoding: try ws2.store.read(try #require(current.body).object).bytes, as: UTF8.self) == "resolved body")
    }

    @Test func detachResolvesSiblingsToo() throws {
        let clinic = Clinic()
        let ws1 = try clinic.store("ws1", .workstation), ws2 = try clinic.store("ws2", .workstation)
        let file = clinic.root + "/scan.txt"
        try Data("scan".utf8).write(to: URL(fileURLWithPath: file))
        var request = ComposeRequest(author: "s1")
        request.patient = "p1"
        request.attachments = [.file(path: file)]
        let id = try ws1.saveDraft(request, now: at(0))
        _ = try SyncEngine(ws1).sync(with: ws2)
        try editDraft(ws1, id, subject: "A", now: at(10))
        try editDraft(ws2, id, subject: "B", now: at(11))
        _ = try SyncEngine(ws2).sync(with: ws1)
        #expect(try ws1.draftHead(id)?.live.count == 2)
        try ws1.detach(draft: id, name: "scan.txt", as: "s1", now: at(12))
        let head = try #require(try ws1.draftHead(id))
        #expect(head.siblings.count == 1 && head.siblings[0].draft.attachments.isEmpty && head.siblings[0].draft.subject == "B")
        _ = try SyncEngine(ws1).sync(with: ws2)
        #expect(try Self.draftHeads(ws1) == Self.draftHeads(ws2))
    }

    @Test func sendOnOneLaptopWhileEditedOnAnotherKeepsTheEditAsADraft() throws {
        let (clinic, ws1, ws2, id) = try Self.sharedDraft()
        defer { withExtendedLifetime(clinic) {} }
        let sent = try ws1.sendDraft(id, as: "s1", now: at(10))
        #expect(throws: MessagingError.self) { try ws1.draft(id, as: "s1") }  // a tombstone is "not found"
        #expect(try ws1.drafts(as: "s1").isEmpty)
        #expect(try ws1.draftHead(id)?.siblings.first?.draft.state == .sent)
        try editDraft(ws2, id, subject: "Edited while it was sent", now: at(20))
        _ = try SyncEngine(ws1).sync(with: ws2)

        #expect(try Self.draftHeads(ws1) == Self.draftHeads(ws2))
        #expect(try Clinic.heads(ws1) == Clinic.heads(ws2))
        for ws in [ws1, ws2] {
            let (head, current) = try ws.draftVersions(id, as: "s1")
            #expect(current.subject == "Edited while it was sent")
            #expect(head.live.count == 1 && head.siblings.count == 2)
            #expect(try ws.drafts(as: "s1").map(\.draft) == [id])
            #expect(try ws.thread(sent.threads[0].thread).thread.messages.count == 1)  // the sent message exists
        }
        // Sending the surviving edit (on either side) replaces both versions.
        let again = try ws2.sendDraft(id, as: "s1", now: at(30))
        _ = try SyncEngine(ws2).sync(with: ws1)
        #expect(try Self.draftHeads(ws1) == Self.draftHeads(ws2))
        for ws in [ws1, ws2] {
            #expect(try ws.drafts(as: "s1").isEmpty)
            #expect(try ws.draftHead(id)?.siblings.map(\.draft.state) == [.sent])
            #expect(try ws.thread(again.threads[0].thread).thread.subject == "Edited while it was sent")
        }
    }

    @Test func discardWithoutConcurrentEditIsGoneOnBoth() throws {
        let (clinic, ws1, ws2, id) = try Self.sharedDraft()
        try ws2.discardDraft(id, as: "s1", now: at(10))
        let bundle = clinic.bundlePath()
        _ = try SyncEngine(ws2).createBundle(for: ws1.replica, targetRole: .workstation, to: bundle)
        #expect(try SyncEngine(ws1).applyBundle(bundle).fastForwarded == 1)
        _ = try SyncEngine(ws1).sync(with: ws2)
        #expect(try Self.draftHeads(ws1) == Self.draftHeads(ws2))
        for ws in [ws1, ws2] {
            #expect(try ws.drafts(as: "s1").isEmpty)
            #expect { try ws.draft(id, as: "s1") } throws: { ($0 as? MessagingError)?.code == .notFound }
            let tombstone = try #require(try ws.draftHead(id)?.siblings.first?.draft)
            #expect(tombstone.state == .discarded && tombstone.subject == nil && tombstone.body == nil && tombstone.recipients.isEmpty && tombstone.patient == nil)
        }
    }

    @Test func aTombstoneThatDominatesWinsOverAnOlderEditArrivingLate() throws {
        let (clinic, ws1, ws2, id) = try Self.sharedDraft()
        try editDraft(ws1, id, subject: "older", now: at(10))
        let stale = clinic.bundlePath()
        _ = try SyncEngine(ws1).createBundle(for: ws2.replica, targetRole: .workstation, to: stale)
        _ = try SyncEngine(ws1).sync(with: ws2)
        try ws2.discardDraft(id, as: "s1", now: at(20))
        _ = try SyncEngine(ws2).sync(with: ws1)
        // The old bundle (already seen) changes nothing: the tombstone dominates its edit.
        #expect(try SyncEngine(ws2).applyBundle(stale).unchanged == 1)
        #expect(try ws1.drafts(as: "s1").isEmpty && ws2.drafts(as: "s1").isEmpty)
        #expect(try Self.draftHeads(ws1) == Self.draftHeads(ws2))
    }

    @Test func draftsAndDraftSetsNeverReachAPortal() throws {
        let clinic = Clinic()
        let ws1 = try clinic.store("ws1", .workstation), ws2 = try clinic.store("ws2", .workstation)
        let portal = try clinic.store("portal", .portal)
        let id = try saveDraft(ws1, subject: "Secret draft subject", body: "draft body zebra")
        _ = try SyncEngine(ws1).sync(with: ws2)
        try editDraft(ws1, id, subject: "Secret draft one", now: at(10))
        try editDraft(ws2, id, subject: "Secret draft two", now: at(11))
        _ = try SyncEngine(ws1).sync(with: ws2)
        let other = try saveDraft(ws2, subject: "Secret draft three")
        try ws2.discardDraft(other, as: "s1")
        for ws in [ws1, ws2] {
            _ = try SyncEngine(ws).sync(with: portal)
            _ = try SyncEngine(portal).sync(with: ws)
        }
        #expect(try portal.store.refs.list(prefix: "drafts/").isEmpty)
        let directory = try portal.store.refs.read(RefName("directory"))
        for object in try portal.store.allObjectIDs() where object != directory {
            let text = String(decoding: try portal.store.read(object, limit: 1 << 30).bytes, as: UTF8.self)
            for secret in ["zebra", "Secret draft", "urn:satchel:draft"] {
                #expect(!text.contains(secret), "portal object \(object.short) contains \(secret)")
            }
        }
        // A misconfigured workstation that believes the portal is a workstation: refused, nothing changes.
        _ = try saveDraft(ws1, subject: "Secret draft four")
        let wrong = clinic.bundlePath()
        _ = try SyncEngine(ws1).createBundle(for: portal.replica, targetRole: .workstation, to: wrong)
        let before = Clinic.snapshot(portal)
        #expect { try SyncEngine(portal).applyBundle(wrong) } throws: { ($0 as? SyncError)?.code == .refused }
        #expect(Clinic.snapshot(portal) == before)
    }

    @Test func aDraftSetIsStaffOnlyOnTheWire() throws {
        let (clinic, ws1, ws2, id) = try Self.sharedDraft()
        try editDraft(ws1, id, subject: "A", now: at(10))
        try editDraft(ws2, id, subject: "B", now: at(11))
        _ = try SyncEngine(ws1).sync(with: ws2)
        let head = try #require(try ws1.draftHead(id))
        let bytes = try ws1.store.read(head.object).bytes
        #expect(throws: SyncError.self) { try SyncEngine.refuseStaffOnly(bytes, id: head.object) }
        // A full bundle to a third workstation carries the set and both versions.
        let ws3 = try clinic.store("ws3", .workstation)
        let path = clinic.bundlePath()
        _ = try SyncEngine(ws1).createBundle(for: ws3.replica, targetRole: .workstation, to: path)
        #expect(try SyncEngine(ws3).applyBundle(path).applied >= 1)
        #expect(try ws3.draftHead(id) == head)
    }
}

/// The draft merge rule on its own: a join (commutative, associative, idempotent), byte-identical
/// either way round, and it never drops a version that no other version dominates.
@Suite struct DraftMergeTests {
    /// Random histories of one draft on three replicas: each step edits, sends or discards on one
    /// replica starting from that replica's head, or merges another replica's head in.
    static let historyGen = Gen.int(in: 0...11).array(of: 1...10).map { script -> [[DraftHead.Sibling]] in
        let replicas = ["ra", "rb", "rc"]
        let base = DraftManifest(id: "D-1", author: "s1", updated: at(0), version: VersionVector(["ra": 1]), subject: "v0")
        var heads = Array(repeating: [sibling(base)], count: 3)
        for (i, step) in script.enumerated() {
            let r = step % 3, kind = step / 3
            let head = DraftHead(object: heads[r][0].object, siblings: heads[r])
            switch kind {
            case 0, 1:
                var draft = head.current?.draft ?? base
                draft.subject = "v\(i + 1)-\(replicas[r])"
                draft.updated = at(Int64(i + 1))
                draft.version = head.nextVersion(for: replicas[r])
                heads[r] = [sibling(draft)]
            case 2:
                heads[r] = [sibling(.tombstone(id: "D-1", author: "s1", state: i % 2 == 0 ? .sent : .discarded,
                                               updated: at(Int64(i + 1)), version: head.nextVersion(for: replicas[r])))]
            default:
                let other = (r + 1) % 3
                heads[r] = DraftMerge.merge(heads[r], heads[other])
            }
        }
        return heads
    }

    static func sibling(_ draft: DraftManifest) -> DraftHead.Sibling {
        DraftHead.Sibling(object: try! draft.objectID(), draft: draft)
    }

    @Test func mergeIsAJoinAndByteIdenticalEitherWay() async {
        await propertyCheck(count: 200, input: Self.historyGen) { heads in
            let (a, b, c) = (heads[0], heads[1], heads[2])
            let ab = DraftMerge.merge(a, b), ba = DraftMerge.merge(b, a)
            #expect(ab == ba)
            let abHead = try DraftMerge.head(of: ab), baHead = try DraftMerge.head(of: ba)
            #expect(abHead.object == baHead.object)
            #expect(try abHead.set?.encoded() == baHead.set?.encoded())
            #expect(DraftMerge.merge(a, a) == a)
            #expect(DraftMerge.merge(ab, b) == ab)
            #expect(DraftMerge.merge(ab, c) == DraftMerge.merge(a, DraftMerge.merge(b, c)))
            // Every version in the result is undominated, and every input version is either kept
            // or dominated by a kept one.
            for x in a + b {
                let kept = ab.contains(x)
                let covered = ab.contains { $0.draft.version.compare(x.draft.version) == .ahead }
                #expect(kept || covered)
            }
            for x in ab { for y in ab where x != y { #expect(x.draft.version.compare(y.draft.version) == .concurrent) } }
        }
    }

    @Test func aLiveEditConcurrentWithATombstoneSurvives() throws {
        let base = DraftManifest(id: "D-1", author: "s1", updated: at(0), version: VersionVector(["ra": 1]), subject: "s")
        let sent = DraftManifest.tombstone(id: "D-1", author: "s1", state: .sent, updated: at(1), version: VersionVector(["ra": 2]))
        var edit = base
        edit.subject = "edited"
        edit.version = VersionVector(["ra": 1, "rb": 1])
        let merged = DraftMerge.merge([Self.sibling(sent)], [Self.sibling(edit)])
        let head = DraftHead(object: try DraftMerge.head(of: merged).object, siblings: merged)
        #expect(head.isLive && head.current?.draft.subject == "edited")
        // A tombstone that saw the edit wins.
        let discarded = DraftManifest.tombstone(id: "D-1", author: "s1", state: .discarded, updated: at(2),
                                                version: VersionVector(["ra": 2, "rb": 1]))
        #expect(DraftMerge.merge(merged, [Self.sibling(discarded)]) == [Self.sibling(discarded)])
    }
}

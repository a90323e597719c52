import Foundation
import PropertyBased
import SatchelManifest
import SatchelMessaging
import SatchelStore
import Testing
@testable import SatchelSync

/// Random work on three replicas (two workstations, one portal) with random pairwise syncs and
/// duplicated, reordered bundles always converges: identical heads for every thread on every
/// replica, identical draft heads on the two workstations (none on the portal), and no message
/// lost.
@Suite struct ConvergenceTests {
    struct Step: Sendable { var op: Int; var a: Int; var b: Int }
    static let ops = 14
    static let script = Gen.int(in: 0...(ops * 9 - 1)).map { Step(op: $0 % ops, a: ($0 / ops) % 3, b: ($0 / (ops * 3)) % 3) }
        .array(of: 6...24)

    @Test func randomHistoriesConverge() async throws {
        await propertyCheck(count: 8, input: Self.script) { steps in
            #expect(throws: Never.self) { try Self.run(steps) }
        }
    }

    static func run(_ steps: [Step]) throws {
        let clinic = Clinic()
        let replicas = [try clinic.store("ws1", .workstation), try clinic.store("ws2", .workstation),
                        try clinic.store("portal", .portal)]
        var created = Set<String>()  // every message ID ever written
        var parked: [(path: String, target: Int)] = []  // bundles kept for later (duplicates, reordering)
        func threads(_ r: Repository) throws -> [String] { try r.store.refs.list(prefix: "threads/").map { String($0.name.rawValue.dropFirst(8)) } }
        // Drafts live on workstations: a draft step "on the portal" runs on a workstation instead.
        func workstation(_ step: Step) -> Repository { replicas[step.a == 2 ? step.b % 2 : step.a] }
        func liveDraft(_ r: Repository, _ pick: Int) throws -> String? {
            let drafts = try r.drafts(as: "s1").map(\.draft).sorted()
            return drafts.isEmpty ? nil : drafts[pick % drafts.count]
        }
        var clock: Int64 = 0

        for step in steps {
            let here = replicas[step.a]
            switch step.op {
            case 0, 1:  // staff compose (portal staff may compose too, without Bcc)
                let sent = try compose(here, patient: step.b % 2 == 0 ? "p1" : "p2", bcc: here.isPortal ? [] : ["nursing"])
                created.insert(sent.message)
            case 2:  // patient reply on the portal, if the rules allow
                let portal = replicas[2]
                if let thread = try threads(portal).sorted().first {
                    let (_, manifest) = try portal.thread(thread)
                    let user = manifest.patient == "p1" ? "u1" : "u3"
                    if manifest.status == .open && manifest.allowReplies {
                        created.insert(try portal.reply(thread: thread, as: user, body: .text("reply")).message)
                    }
                }
            case 3:  // staff reply
                if let thread = try threads(here).sorted().last {
                    created.insert(try here.reply(thread: thread, as: "s2", body: .text("staff note")).message)
                }
            case 4:
                if let thread = try threads(here).sorted().first { try here.close(thread: thread, as: "s1") }
            case 5:
                if let thread = try threads(here).sorted().first { try here.reopen(thread: thread, as: "s1") }
            case 6, 7:  // direct two-way sync
                if step.a != step.b { _ = try SyncEngine(here).sync(with: replicas[step.b]) }
            case 8:  // a bundle made now, applied later (maybe twice)
                if step.a != step.b {
                    let path = clinic.bundlePath()
                    _ = try SyncEngine(here).createBundle(for: replicas[step.b].replica, targetRole: replicas[step.b].role, to: path)
                    parked.append((path, step.b))
                }
            case 10:  // save a draft
                clock += 1
                _ = try saveDraft(workstation(step), subject: "draft \(clock)", now: at(clock))
            case 11:  // edit a draft (concurrent edits on the two workstations become siblings)
                let ws = workstation(step)
                if let id = try liveDraft(ws, step.b) {
                    clock += 1
                    try editDraft(ws, id, subject: "edit \(clock)", now: at(clock))
                }
            case 12:  // send a draft
                let ws = workstation(step)
                if let id = try liveDraft(ws, step.b) {
                    clock += 1
                    for sent in try ws.sendDraft(id, as: "s1", now: at(clock)).threads { created.insert(sent.message) }
                }
            case 13:  // discard a draft
                let ws = workstation(step)
                if let id = try liveDraft(ws, step.b) {
                    clock += 1
                    try ws.discardDraft(id, as: "s1", now: at(clock))
                }
            case 9:  // apply a parked bundle out of order; stale ones may be refused as gaps
                if !parked.isEmpty {
                    let (path, target) = parked[step.b % parked.count]
                    do { try SyncEngine(replicas[target]).applyBundle(path) } catch let error as SyncError where error.code == .missingPrerequisite {}
                }
            default:
                break
            }
        }
        // Settle: every pair syncs, twice round.
        for _ in 0..<2 {
            for (x, y) in [(0, 2), (1, 2), (0, 1), (2, 0)] { _ = try SyncEngine(replicas[x]).sync(with: replicas[y]) }
        }
        let heads = try replicas.map { try Clinic.heads($0) }
        #expect(heads[0] == heads[1])
        #expect(heads[1] == heads[2])
        var seen = Set<String>()
        for (_, id) in heads[2] { seen.formUnion(try replicas[2].load(ThreadManifest.self, id).messages.map(\.id)) }
        #expect(seen == created)
        // Staff-only envelopes agree between the workstations and never reach the portal.
        #expect(try Clinic.heads(replicas[0], prefix: "envelopes/") == Clinic.heads(replicas[1], prefix: "envelopes/"))
        #expect(try replicas[2].store.refs.list(prefix: "envelopes/").isEmpty)
        // Drafts converge between the workstations (siblings and tombstones included) and never
        // reach the portal.
        #expect(try Clinic.heads(replicas[0], prefix: "drafts/") == Clinic.heads(replicas[1], prefix: "drafts/"))
        #expect(try replicas[0].drafts(as: "s1") == replicas[1].drafts(as: "s1"))
        #expect(try replicas[2].store.refs.list(prefix: "drafts/").isEmpty)
        for replica in replicas { #expect(try replica.store.fsck().isClean) }
    }
}

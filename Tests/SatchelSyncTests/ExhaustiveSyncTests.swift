import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelTestSupport
import SyncCheckKit
import Testing
@testable import SatchelSync

/// Every history of three replicas (W1, W2, portal P) up to a small depth, on the real engine
/// (Tools/SyncCheckKit/Explorer.swift; `swift run -c release SyncCheck --depth N` goes deeper).
@Suite struct ExhaustiveSyncTests {
    /// Debug builds run the engine slowly: `swift test` covers every step kind to depth 1 and
    /// the status/reply/sync kinds to depth 3 (about a minute); the two 4-step sequences of
    /// #10 are ThreadRuleRegressionTests, and the SyncCheck tool (release) covers every kind
    /// deeper (docs/RELIABILITY.md).
    @Test func everyKindToDepth1() async throws {
        try await Self.explore(depth: 1, kinds: nil, minimum: 15)
    }

    @Test
    func closeReopenPatientReplyAndSyncToDepth3() async throws {
        try await Self.explore(depth: 3, kinds: ["close", "reopen", "patientReply", "sync"], minimum: 100)
    }

    static func explore(depth: Int, kinds: Set<String>?, minimum: UInt64) async throws {
        var config = Explorer.Config(depth: depth)
        config.kinds = kinds
        config.maxViolations = 5
        // The exploration is long and synchronous: run it on its own thread so it does not hold
        // one of the few cooperative threads that other (async, networked) tests need.
        let settings = config
        let report = try await onOwnThread {
            var explorer = Explorer(config: settings)
            return try explorer.run()
        }
        print("exhaustive depth \(depth) kinds \(kinds.map { $0.sorted().joined(separator: ",") } ?? "all"): "
              + "\(report.histories) histories, \(report.states) states, \(report.transitions) steps, "
              + "\(String(format: "%.1f", report.seconds)) s")
        for violation in report.violations.prefix(3) { Issue.record("\(violation)") }
        #expect(report.violations.isEmpty)
        if report.violations.isEmpty { #expect(report.histories >= minimum) }
    }
}


/// The two sequences of issue #10, as a user meets them.
@Suite struct ThreadRuleRegressionTests {
    /// Laptop closes and syncs; staff on the portal reopen; the patient replies (legitimately:
    /// after the reopen). Sync must succeed both ways, the reply reach the laptop, the thread
    /// stay open.
    @Test
    func closeSyncReopenOnPortalThenPatientReplySyncsBothWays() throws {
        let clinic = Clinic()
        let laptop = try clinic.store("laptop", .workstation)
        let portal = try clinic.store("portal", .portal)
        let sent = try compose(laptop)
        _ = try SyncEngine(laptop).sync(with: portal)
        try laptop.close(thread: sent.thread, as: "s1")
        _ = try SyncEngine(laptop).sync(with: portal)
        try portal.reopen(thread: sent.thread, as: "s1")
        let reply = try portal.reply(thread: sent.thread, as: "u1", body: .text("Thank you")).message

        #expect(throws: Never.self) { _ = try SyncEngine(laptop).sync(with: portal) }
        #expect(throws: Never.self) { _ = try SyncEngine(portal).sync(with: laptop) }
        for store in [laptop, portal] {
            let view = try store.threadView(sent.thread)
            #expect(view.messages.map(\.message).contains(reply))
            #expect(view.summary.status == .open)
        }
        #expect(try Clinic.heads(laptop) == Clinic.heads(portal))
    }

    /// A closes offline; B closes, maybe syncs with the portal, reopens; everyone syncs. A's
    /// close is concurrent with B's reopen: closed wins, whether or not B synced in between.
    @Test(arguments: [false, true])
    func concurrentCloseBeatsReopenWhetherOrNotBSyncedInBetween(bSyncsInBetween: Bool) throws {
        let clinic = Clinic()
        let a = try clinic.store("a", .workstation)
        let b = try clinic.store("b", .workstation)
        let portal = try clinic.store("portal", .portal)
        let sent = try compose(a)
        for store in [a, b] { _ = try SyncEngine(store).sync(with: portal) }

        try a.close(thread: sent.thread, as: "s1")
        try b.close(thread: sent.thread, as: "s1")
        if bSyncsInBetween { _ = try SyncEngine(b).sync(with: portal) }
        try b.reopen(thread: sent.thread, as: "s1")

        for _ in 0..<2 {
            for (x, y) in [(a, portal), (b, portal), (a, b)] {
                #expect(throws: Never.self) { _ = try SyncEngine(x).sync(with: y) }
            }
        }
        for store in [a, b, portal] {
            #expect(try store.threadView(sent.thread).summary.status == .closed)
        }
        #expect(try Clinic.heads(a) == Clinic.heads(portal))
        #expect(try Clinic.heads(b) == Clinic.heads(portal))
    }
}

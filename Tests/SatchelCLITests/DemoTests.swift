import Foundation
import Testing

/// `satchel demo` runs the whole story; its claims are checked from its JSON summary and by
/// looking at the stores it leaves behind.
@Suite struct DemoTests {
    @Test func demoConvergesHidesBccAndLeavesCleanStores() throws {
        let scratch = Scratch()
        let dir = scratch.path + "/demo"
        let result = try CLI.run("demo", "--directory", dir, "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let summary = result.json
        #expect(summary["converged"] as? Bool == true)
        #expect(summary["patientViewHasBcc"] as? Bool == false)
        #expect(summary["fsckClean"] as? Bool == true)
        #expect(summary["restoreEqual"] as? Bool == true)
        #expect(summary["convergedAfterRestore"] as? Bool == true)
        let restored = try #require(summary["restoredStore"] as? String)
        #expect(try CLI.run("fsck", "--store", restored).status == 0)
        let oldReplica = try CLI.run("stats", "--store", summary["workstation"] as? String ?? "", "--json").json["replica"] as? String
        #expect(summary["restoredReplica"] as? String != oldReplica)
        let laptop = try #require(summary["workstation"] as? String)
        let portal = try #require(summary["portal"] as? String)
        // Independent checks through the CLI.
        for store in [laptop, portal] {
            #expect(try CLI.run("fsck", "--store", store).status == 0)
        }
        let onLaptop = try CLI.run("thread", "list", "--store", laptop, "--json").json["threads"] as? [[String: Any]]
        let onPortal = try CLI.run("thread", "list", "--store", portal, "--json").json["threads"] as? [[String: Any]]
        #expect(onLaptop?.count == onPortal?.count)
        let drafts = try CLI.run("draft", "list", "--as", "s1", "--store", portal, "--json").json["drafts"] as? [Any]
        #expect(drafts?.isEmpty == true)
        let outbox = try CLI.run("outbox", "list", "--store", portal, "--json").json["outbox"] as? [[String: Any]] ?? []
        #expect(!outbox.isEmpty)
        for entry in outbox {
            let text = entry["text"] as? String ?? ""
            #expect(text.contains("https://portal.example.org/messages/"))
            for phi in ["Rosa", "Diaz", "lab", "Flu", "Shaw"] { #expect(!text.contains(phi)) }
        }
        // The human narration mentions every chapter.
        let narrated = try CLI.run("demo", "--directory", scratch.path + "/demo2")
        #expect(narrated.status == 0)
        for chapter in ["Offline on the laptop", "bulk message", "draft", "syncs with the portal", "converge", "no Staff Bcc", "backed up", "fsck"] {
            #expect(narrated.stdout.contains(chapter), "missing chapter: \(chapter)")
        }
    }
}

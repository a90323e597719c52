import Foundation
import SatchelDemo
import SatchelMessaging
import SatchelStore
import SatchelTestSupport
import Testing

@Suite struct DemoTests {
    /// The story as a library call: every check passes, the narration covers every chapter, and
    /// the stores it leaves are what the summary says.
    @Test func theStoryRunsAndEveryCheckPasses() throws {
        let dir = TemporaryDirectory()
        var steps: [String] = []
        var lines: [String] = []
        let summary = try Demo.run(in: dir.path + "/demo", step: { steps.append($0) }, say: { lines.append($0) })
        #expect(summary.allChecksPass)
        #expect(summary.converged && summary.fsckClean && summary.restoreEqual && summary.convergedAfterRestore)
        #expect(!summary.patientViewHasBcc)
        #expect(steps.count == 10, "\(steps)")
        #expect(!lines.isEmpty)
        let laptop = try Repository.open(at: summary.workstation)
        #expect(try laptop.store.refs.list(prefix: "threads/").count == summary.threads)
        #expect(try laptop.thread(summary.labThread).thread.status == .closed)
        let restored = try Repository.open(at: summary.restoredStore)
        #expect(restored.replica == summary.restoredReplica)
        #expect(try Repository.open(at: summary.portal).outbox().count >= summary.outbox)  // + the restored laptop's reply
    }

    @Test func byteCountsReadAsPeopleExpect() {
        #expect(humanBytes(0) == "0 B")
        #expect(humanBytes(1023) == "1023 B")
        #expect(humanBytes(1024) == "1.0 KiB")
        #expect(humanBytes(4 << 20) == "4.0 MiB")
    }
}

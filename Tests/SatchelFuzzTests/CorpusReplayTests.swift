import Foundation
import SatchelFuzzHTTP
import SatchelFuzzKit
import SatchelTestSupport
import Testing

/// Every seed and every minimized crash under fixtures/fuzz goes through the same entry
/// functions as the libFuzzer targets (Tools/Fuzz), so `swift test` keeps the corpus honest:
/// no input may trap, and none may produce a finding (a refused input that changed a store, a
/// lost round trip, a 5xx answer).
@Suite(.serialized) struct CorpusReplayTests {
    /// On a thread of its own, one target at a time: the harnesses are synchronous and
    /// CPU-bound, and must not take the cooperative pool from in-process HTTP servers of other
    /// tests (the `http` harness blocks its own thread and runs the server in a detached task).
    @Test(arguments: FuzzTarget.allCases)
    func replay(_ target: FuzzTarget) async throws {
        let files = FuzzCorpus.files(for: target)
        #expect(!files.isEmpty, "no corpus for \(target) under \(FuzzCorpus.fixturesRoot)/fuzz")
        let findings = try await onOwnThread { () -> [String] in
            let harness = try FuzzHTTP.makeHarness(for: target)
            defer { harness.tearDown() }
            var findings: [String] = []
            for file in files {
                do {
                    try harness.run(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
                } catch {
                    findings.append("\(file): \(error)")
                }
            }
            return findings
        }
        for finding in findings { Issue.record(Comment(rawValue: finding)) }
    }
}

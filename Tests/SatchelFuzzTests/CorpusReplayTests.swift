import Foundation
import SatchelFuzzHTTP
import SatchelFuzzKit
import Testing

/// Every seed and every minimized crash under fixtures/fuzz goes through the same entry
/// functions as the libFuzzer targets (Tools/Fuzz), so `swift test` keeps the corpus honest:
/// no input may trap, and none may produce a finding (a refused input that changed a store, a
/// lost round trip, a 5xx answer).
@Suite struct CorpusReplayTests {
    @Test(arguments: FuzzTarget.allCases)
    func replay(_ target: FuzzTarget) async throws {
        let files = FuzzCorpus.files(for: target)
        #expect(!files.isEmpty, "no corpus for \(target) under \(FuzzCorpus.fixturesRoot)/fuzz")
        let harness = try FuzzHTTP.makeHarness(for: target)
        defer { harness.tearDown() }
        for file in files {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
            do {
                try await harness.runAsync(bytes)
            } catch {
                Issue.record("\(file): \(error)")
            }
        }
    }
}

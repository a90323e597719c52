import Foundation
import Testing
@testable import SatchelStore

/// Inputs the fuzz targets of Tools/Fuzz found (fixtures/fuzz/crashes; docs/RELIABILITY.md,
/// "Fuzzing"), fed to the library functions they went through.
@Suite struct FuzzRegressionTests {
    static func crashFixture(_ target: String, _ name: String) throws -> Data {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return try Data(contentsOf: url.appendingPathComponent("fixtures/fuzz/crashes/\(target)/\(name)"))
    }

    /// The change-log target found a log whose records are out of sequence order (5 before 3):
    /// `lastSequence()` (read from the tail) is 3 while `changes(after: 0)` reports change 5.
    /// Such a log is damage only an outside writer makes (appends are ordered); it must read
    /// without a trap or an error, stay unchanged by reading, and fsck must report it.
    @Test func changeLogWithRecordsOutOfOrderReadsAndIsReportedByFsck() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let log = store.refs.changeLog
        let bytes = try Self.crashFixture("changelog", "sequence-out-of-order.log")
        try bytes.write(to: URL(fileURLWithPath: log.path))
        #expect(try log.epoch() == "e0123456789abcdef")
        #expect(try log.lastSequence() == 3)
        #expect(try log.changes(after: 0).map(\.sequence) == [3, 5])
        #expect(try Data(contentsOf: URL(fileURLWithPath: log.path)) == bytes)
        let problems = try store.fsck().problems.filter { $0.kind == "change-log" }
        #expect(problems.map(\.detail) == ["change log line 3 has sequence 3, not above 5"])
    }
}

import Foundation
import Testing
@testable import SatchelStore

@Suite struct ChangeLogTests {
    @Test func changesAfterReadsTheTailExactly() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let log = store.refs.changeLog
        let ids = try (0..<4).map { try store.put(.manifest, Array("v\($0)".utf8)) }
        // Enough records to span several 64 KiB read steps.
        var updates: [RefUpdate] = []
        for i in 0..<3000 { updates.append(RefUpdate(try RefName("threads/T-\(i)"), from: nil, to: ids[i % 4])) }
        try store.refs.commit(updates)
        #expect(try log.lastSequence() == 3000)
        for since: UInt64 in [0, 1, 1500, 2999, 3000] {
            let changes = try log.changes(after: since)
            #expect(changes.count == Int(3000 - since))
            #expect(changes.first?.sequence == (since < 3000 ? since + 1 : nil))
            #expect(changes.map(\.sequence) == changes.map(\.sequence).sorted())
        }
        // A later change to an existing ref: only its latest record is reported.
        try store.refs.update(RefName("threads/T-7"), from: ids[3], to: ids[0])
        let latest = try log.changes(after: 2990)
        #expect(latest.filter { $0.ref.rawValue == "threads/T-7" }.map(\.sequence) == [3001])
    }

    @Test func aTornFinalRecordIsIgnoredAndSealed() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let id = try store.put(.manifest, Array("x".utf8))
        try store.refs.update(RefName("threads/a"), from: nil, to: id)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: store.refs.changeLog.path))
        handle.seekToEndOfFile()
        handle.write(Data("2 threads/b sha256:12".utf8))  // torn: no newline, cut ID
        try handle.close()
        #expect(try store.refs.changeLog.changes(after: 0).map(\.sequence) == [1])
        try store.refs.update(RefName("threads/c"), from: nil, to: id)
        #expect(try store.refs.changeLog.changes(after: 0).map(\.ref.rawValue) == ["threads/a", "threads/c"])
    }

    @Test func compactionKeepsSequencesAndRecordsItsSize() throws {
        let dir = TempDirectory()
        let store = try dir.makeStore()
        let ids = try (0..<2).map { try store.put(.manifest, Array("v\($0)".utf8)) }
        let name = try RefName("threads/only")
        try store.refs.update(name, from: nil, to: ids[0])
        for i in 0..<10 { try store.refs.update(name, from: ids[i % 2], to: ids[(i + 1) % 2]) }
        try store.refs.changeLog.compact()
        let text = try String(contentsOfFile: store.refs.changeLog.path, encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].split(separator: " ").count == 4)
        #expect(try store.refs.changeLog.changes(after: 0).map(\.sequence) == [11])
        #expect(try store.refs.changeLog.lastSequence() == 11)
    }
}

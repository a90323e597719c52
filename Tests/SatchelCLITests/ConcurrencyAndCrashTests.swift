import Foundation
import Testing

/// Several processes writing at once, and a writer killed mid-write, never leave a torn object.
@Suite struct ConcurrencyAndCrashTests {
    @Test func processesWritingSameAndDifferentObjects() throws {
        let scratch = Scratch()
        let store = scratch.path + "/s"
        try CLI.run("init", store, "--role", "workstation")
        // 12 shared files (every process writes them) and 6 private files per process.
        var shared: [String] = []
        for i in 0..<12 {
            shared.append(scratch.file("shared-\(i).txt", String(repeating: "shared \(i) ", count: 2000 + i)))
        }
        var processes: [Process] = []
        for p in 0..<4 {
            var files = shared.shuffled()
            for i in 0..<6 {
                files.append(scratch.file("p\(p)-\(i).txt", String(repeating: "private \(p) \(i) ", count: 3000)))
            }
            let process = CLI.process(["object", "put", "--store", store] + files)
            process.standardOutput = FileHandle.nullDevice
            processes.append(process)
        }
        for process in processes { try process.run() }
        for process in processes {
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
        let fsck = try CLI.run("fsck", "--store", store, "--json")
        #expect(fsck.status == 0, "\(fsck.stdout)")
        #expect(fsck.json["objects"] as? Int == 12 + 4 * 6)
    }

    @Test func killedWriterLeavesNoObjectAndFsckIsClean() throws {
        let scratch = Scratch()
        let store = scratch.path + "/s"
        try CLI.run("init", store, "--role", "workstation")
        // A large sparse file: reading it is fast, deflating it takes a while.
        let big = scratch.path + "/big.bin"
        _ = FileManager.default.createFile(atPath: big, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: big))
        try handle.truncate(atOffset: 1 << 30)
        try handle.close()
        let writer = CLI.process(["object", "put", big, "--store", store])
        writer.standardOutput = FileHandle.nullDevice
        try writer.run()
        // Wait until the temp file is growing, then kill -9.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let temps = (try? FileManager.default.contentsOfDirectory(atPath: store + "/tmp")) ?? []
            if !temps.isEmpty { break }
            usleep(5000)
        }
        usleep(100_000)
        kill(writer.processIdentifier, SIGKILL)
        writer.waitUntilExit()
        #expect(writer.terminationReason == .uncaughtSignal)
        let fsck = try CLI.run("fsck", "--store", store, "--json")
        #expect(fsck.status == 0, "\(fsck.stdout)")
        #expect(fsck.json["objects"] as? Int == 0)
        let stats = try CLI.run("stats", "--store", store, "--json")
        #expect(stats.json["objects"] as? Int == 0)
    }
}

import Foundation
import SatchelTestSupport
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

    /// The fast subset of `CrashCampaign stress`: for a few seconds two composers, a sync loop,
    /// gc and fsck run as separate processes on one portal store. Every run exits 0 (or 75,
    /// busy); nothing a composer was told about is lost; fsck on the live store never reports
    /// new work as damage; after a final sync both stores hold every acknowledged thread.
    @Test func composersSyncGcAndFsckOnOneStoreLoseNothing() async throws {
        let setup = try HTTPSyncTests.Setup()
        let portal = setup.portal, laptop = setup.laptop
        // Seconds of blocking waits: on a thread of its own (see onOwnThread).
        let (problems, acknowledged) = try await onOwnThread { () -> ([String], Set<String>) in
            let lock = NSLock()
            nonisolated(unsafe) var acknowledged = Set<String>()
            nonisolated(unsafe) var problems: [String] = []
            let workers: [(String, [String], Double)] = [
                ("compose-a", ["compose", "--store", portal, "--as", "s1", "--to", "u1", "--subject", "A", "--body", "a", "--send", "--json"], 0),
                ("compose-b", ["compose", "--store", portal, "--as", "s1", "--to", "u1", "--subject", "B", "--body", "b", "--send", "--json"], 0),
                ("sync", ["sync", laptop, "--store", portal], 0.1),
                ("gc", ["gc", "--store", portal, "--grace-hours", "0.02"], 0.3),
                ("fsck", ["fsck", "--store", portal], 0.3),
            ]
            let deadline = Date().addingTimeInterval(5)
            let group = DispatchGroup()
            for (name, arguments, pause) in workers {
                group.enter()
                Thread {
                    while Date() < deadline {
                        let result: CLI.Result
                        do { result = try CLI.run(arguments) } catch {
                            lock.withLock { problems.append("\(name): \(error)") }
                            break
                        }
                        lock.withLock {
                            if result.status != 0 && result.status != 75 {
                                problems.append("\(name) exit \(result.status): \(result.stderr) \(result.stdout.prefix(400))")
                            } else if result.status == 0, name.hasPrefix("compose"),
                                      let thread = (result.json["threads"] as? [[String: Any]])?.first?["thread"] as? String {
                                acknowledged.insert(thread)
                            }
                        }
                        if pause > 0 { Thread.sleep(forTimeInterval: pause) }
                    }
                    group.leave()
                }.start()
            }
            group.wait()
            return lock.withLock { (problems, acknowledged) }
        }
        #expect(problems.isEmpty, "\(problems)")
        #expect(!acknowledged.isEmpty)
        #expect(try CLI.run("sync", laptop, "--store", portal).status == 0)
        for store in [portal, laptop] {
            let listed = try CLI.run("thread", "list", "--store", store, "--json")
            let threads = Set((listed.json["threads"] as? [[String: Any]] ?? []).compactMap { $0["thread"] as? String })
            #expect(acknowledged.isSubset(of: threads), "missing on \(store): \(acknowledged.subtracting(threads))")
            let fsck = try CLI.run("fsck", "--store", store)
            #expect(fsck.status == 0, "\(fsck.stdout)")
        }
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

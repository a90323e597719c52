import Foundation
import SatchelTestSupport
import Testing

/// Every command in the README's tour runs as written, in order, and succeeds.
@Suite struct ReadmeTests {
    @Test func tourRunsAsWritten() throws {
        let root = SourceTree.root
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let block = try #require(readme.components(separatedBy: "```sh tour\n").last?.components(separatedBy: "```").first)
        let commands = block.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        #expect(commands.count >= 10)
        let scratch = Scratch()
        try FileManager.default.copyItem(atPath: root.appendingPathComponent("fixtures/xml/valid/directory.xml").path,
                                         toPath: scratch.path + "/directory.xml")
        let bin = URL(fileURLWithPath: CLI.executable).deletingLastPathComponent().path
        for command in commands {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = ["-euo", "pipefail", "-c", command]
            process.currentDirectoryURL = URL(fileURLWithPath: scratch.path)
            var env = ProcessInfo.processInfo.environment
            env["PATH"] = bin + ":" + (env["PATH"] ?? "/usr/bin:/bin")
            env.removeValue(forKey: "SATCHEL_STORE")
            process.environment = env
            let err = Pipe()
            process.standardOutput = FileHandle.nullDevice
            process.standardError = err
            try process.run()
            let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "README tour command failed: \(command)\n\(message)")
        }
    }
}

// Running `satchel` processes: the seeded random source, outcomes, servers, stopping.
import Foundation
import SatchelStore

struct Outcome {
    var status: Int32
    var killed: Bool
    var stdout: String
    var stderr: String
}

final class Runner: Sendable {
    let satchel: String
    init(satchel: String) { self.satchel = satchel }

    /// Runs satchel; with `killAfter`, sends SIGKILL after that many seconds if still running.
    func run(_ args: [String], fault: String? = nil, killAfter: Double? = nil) -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: satchel)
        process.arguments = args
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "SATCHEL_STORE")
        env.removeValue(forKey: "SATCHEL_FAULT")
        if let fault { env["SATCHEL_FAULT"] = fault }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch { return Outcome(status: -1, killed: false, stdout: "", stderr: "\(error)") }
        if let killAfter {
            // satchel prints little, so the pipes cannot fill while we wait here.
            let deadline = Date().addingTimeInterval(killAfter)
            while process.isRunning && Date() < deadline { usleep(2000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let killed = process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
        return Outcome(status: process.terminationStatus, killed: killed,
                       stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}

extension Runner {
    /// Starts `satchel serve` on a free port; returns the process and its URL once it listens
    /// (nil URL: it died or printed nothing within 10 s, e.g. a fault killed it at startup).
    func startServer(store: String, fault: String?) -> (Process, String?) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: satchel)
        process.arguments = ["serve", "--store", store, "--port", "0", "--json"]
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "SATCHEL_FAULT")
        if let fault { env["SATCHEL_FAULT"] = fault }
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return (process, nil) }
        let line = readLine(out.fileHandleForReading.fileDescriptor, timeout: 10)
        guard let line, let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let url = json["url"] as? String else { return (process, nil) }
        return (process, url)
    }

    /// Stops a server: SIGTERM, then SIGKILL if it has not exited within 10 s (reported).
    func stop(_ process: Process) -> Bool {
        guard process.isRunning else { return true }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(5000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return false
        }
        return true
    }
}

/// One line from `fd`, waiting at most `timeout` seconds in all.
func readLine(_ fd: Int32, timeout: Double) -> String? {
    var bytes: [UInt8] = []
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, 100)
        if ready < 0 && errno != EINTR { return nil }
        if ready <= 0 { continue }
        var byte: UInt8 = 0
        let n = read(fd, &byte, 1)
        if n <= 0 { return nil }
        if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
        bytes.append(byte)
    }
    return nil
}

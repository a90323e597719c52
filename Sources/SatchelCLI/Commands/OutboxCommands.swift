import ArgumentParser
import Foundation
import SatchelManifest
import SatchelMessaging

struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Notifications queued on a portal store (links only, no PHI): list, deliver.",
        subcommands: [List.self, Deliver.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List queued notifications.")
        @OptionGroup var global: GlobalOptions

        struct Entry: Encodable {
            var id, notification, thread, recipient, channel, address, text, status: String
            var attempts: Int
        }

        func run() async throws {
            let entries = try StoreContext.open(global).outbox()
            if global.json {
                try Output.json(["outbox": entries.map {
                    Entry(id: $0.id, notification: $0.id, thread: $0.thread, recipient: $0.recipient,
                          channel: $0.channel.rawValue, address: $0.address, text: $0.text, status: $0.status.rawValue,
                          attempts: $0.attempts)
                }])
                return
            }
            if entries.isEmpty { Output.line("Outbox is empty.") }
            for e in entries { Output.line("\(e.status.rawValue)  \(e.channel.rawValue)  \(e.recipient)  \(e.address)  \(e.text)") }
        }
    }

    struct Deliver: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hand due notifications to a gateway command and record sent/failed.",
            discussion: """
                Runs CMD (with /bin/sh -c) once per due notification (pending, or failed and past \
                its retry time), with {"notification","channel","address","text"} as JSON on stdin. \
                Exit 0 = sent; anything else (or no exit within --timeout) = failed, retried later \
                with exponential backoff from --retry-after. The "notification" ID is stable across \
                retries: a crash after the gateway accepted but before "sent" was recorded hands the \
                same ID out again, so a gateway that drops IDs it has sent delivers exactly once. \
                The gateway's stdout goes to stderr.

                Example:
                  satchel outbox deliver --command "/usr/local/bin/send-notification" --limit 100 --json
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Gateway command (run with /bin/sh -c; the notification as JSON on stdin).") var command: String
        @Option(help: "At most this many notifications in this run.") var limit: Int?
        @Option(name: .customLong("retry-after"), help: "Seconds before the first retry after a failure (doubles each time; 0 = next run).")
        var retryAfter: Double = 60
        @Option(help: "Seconds a gateway run may take before it counts as failed.") var timeout: Double = 60

        struct Result: Encodable { var sent, failed, pending: Int }

        func validate() throws {
            if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more") }
            if retryAfter < 0 || !retryAfter.isFinite { throw ValidationError("--retry-after must be 0 or more seconds") }
            if timeout <= 0 || !timeout.isFinite { throw ValidationError("--timeout must be more than 0 seconds") }
        }

        func run() async throws {
            let repository = try StoreContext.open(global)
            let gateway = GatewayCommand(command: command, timeout: timeout)
            let result = try repository.deliverOutbox(limit: limit, retryAfter: retryAfter) { try gateway.send($0) }
            if global.json {
                try Output.json(Result(sent: result.sent, failed: result.failed, pending: result.pending))
            } else {
                Output.line("Sent \(result.sent), failed \(result.failed), still pending \(result.pending).")
            }
        }
    }
}

/// Adapts a shell command to ``Repository/deliverOutbox(limit:retryAfter:now:send:)``: one run
/// per notification, JSON on stdin, exit 0 = sent.
struct GatewayCommand {
    struct Failed: Error {}

    var command: String
    var timeout: Double

    struct Payload: Encodable { var notification, channel, address, text: String }

    func send(_ notification: OutboundNotification) throws {
        signal(SIGPIPE, SIG_IGN)  // a gateway that exits without reading stdin is a failure, not our death
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let payload = try encoder.encode(Payload(notification: notification.notification,
                                                 channel: notification.channel.rawValue,
                                                 address: notification.address, text: notification.text))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.standardError
        try process.run()
        try? input.fileHandleForWriting.write(contentsOf: payload + Data("\n".utf8))
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw Failed()
        }
        guard process.terminationReason == .exit, process.terminationStatus == 0 else { throw Failed() }
    }
}

struct BodyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "body",
        abstract: "Stream a message body out of the store (any size).",
        subcommands: [Get.self])

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a message body to a new file (verified before it appears).",
            discussion: "Example:\n  satchel body get T-3f… M-9a… -o body.txt --as u1")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Thread ID.") var thread: String
        @Argument(help: "Message ID.") var message: String
        @Option(name: .shortAndLong, help: "Output file (must not exist).") var output: String
        @Option(name: .customLong("as"), help: "Staff member or portal user whose access to check.") var viewer: String?

        struct Result: Encodable { var thread, message, format, output: String; var size: UInt64 }

        func run() async throws {
            let repository = try StoreContext.open(global)
            let body = try repository.exportBody(thread: thread, message: message, as: viewer, to: output)
            if global.json {
                try Output.json(Result(thread: thread, message: message, format: body.format.rawValue, output: output,
                                       size: body.length))
            } else {
                Output.line("Wrote the body of \(message) (\(Output.bytes(body.length))) to \(output)")
            }
        }
    }
}

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Store configuration.",
        subcommands: [PortalURL.self])

    struct PortalURL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "portal-url",
            abstract: "Set the portal base URL that notification links use (a portal queues nothing without one).",
            discussion: "Example:\n  satchel --store /srv/portal-store config portal-url https://portal.clinic.example")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Base URL, e.g. https://portal.clinic.example.") var url: String

        func run() async throws {
            _ = try StoreContext.open(global)
            let repository = try Repository.setPortalURL(url, at: global.storePath)
            if global.json { try Output.json(["portalURL": repository.config.portalURL ?? url]) } else {
                Output.line("Portal URL set to \(url)")
            }
        }
    }
}

import ArgumentParser
import Foundation
import SatchelManifest
import SatchelMessaging

struct ThreadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "thread",
        abstract: "List, show, close and reopen threads; turn patient replies on or off.",
        subcommands: [List.self, Show.self, Close.self, Reopen.self, Replies.self])

    struct Summary: Encodable {
        var thread, patient, subject, status: String
        var allowReplies: Bool
        var messages: Int
        var version: [String: UInt64]

        init(_ s: ThreadSummary) {
            thread = s.thread
            patient = s.patient
            subject = s.subject
            status = s.status.rawValue
            allowReplies = s.allowReplies
            messages = s.messages
            version = s.version
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List threads, newest activity first.",
            discussion: """
                --as PORTAL_USER lists exactly what that patient or representative may see (refused, \
                exit 77, while they have no portal access); --as STAFF lists every thread.

                Examples:
                  satchel thread list --patient p1
                  satchel thread list --as s1
                  satchel thread list --as u1 --json
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this patient's threads.") var patient: String?
        @Option(name: .customLong("as"), help: "Staff member or portal user whose view to show.") var viewer: String?

        func run() async throws {
            let repository = try StoreContext.open(global)
            let threads = try repository.threads(patient: patient, as: viewer)
            if global.json {
                try Output.json(["threads": threads.map(Summary.init)])
                return
            }
            let labels = Labels(repository)
            if threads.isEmpty { Output.line("No threads.") }
            for t in threads {
                Output.line("\(t.thread)  \(t.status.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0))  \(labels.patient) \(t.patient)  \(t.messages) msg  \(t.subject)")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a thread with its messages.",
            discussion: """
                Staff see Staff Bcc on a workstation (a portal never keeps it: "bccKept": false); \
                --as PORTAL_USER shows exactly what that person may see. A body larger than 8 MiB is \
                not printed: the view shows its size and the command that fetches it \
                (satchel body get THREAD MESSAGE -o FILE).

                Example:
                  satchel thread show T-3f… --as u1
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Thread ID.") var thread: String
        @Option(name: .customLong("as"), help: "Staff member or portal user whose view to show.") var viewer: String?

        struct Message: Encodable {
            var message, author, sent, subject, body, format: String
            var recipients: [String]
            var attachments: [AttachmentJSON]
            var bcc: [String]?
            var bodySize: UInt64
            /// Present (true) only when the body was too large to show; `bodyFetch` says how.
            var bodyOmitted: Bool?
            var bodyFetch: String?
        }
        struct Conflict: Encodable { var flag, value, replica: String; var counter: UInt64 }
        struct Event: Encodable { var event, kind, at: String; var by: String? }
        struct Result: Encodable {
            var thread, patient, subject, status, head: String
            var allowReplies: Bool
            var version: [String: UInt64]
            var conflicts: [Conflict]
            var messages: [Message]
            var events: [Event]
            var quarantined: [QuarantinedJSON]?
            /// Staff views only: whether this store keeps Staff Bcc (false on a portal, where
            /// messages carry no "bcc" key because it is not known there).
            var bccKept: Bool?
        }

        static func fetch(_ thread: String, _ m: MessageView) -> String {
            "satchel body get \(thread) \(m.message) -o FILE"
        }

        func run() async throws {
            let repository = try StoreContext.open(global)
            let view = try repository.threadView(thread, as: viewer)
            let s = view.summary
            if global.json {
                try Output.json(Result(
                    thread: s.thread, patient: s.patient, subject: s.subject, status: s.status.rawValue,
                    head: view.head.description, allowReplies: s.allowReplies, version: s.version,
                    conflicts: view.conflicts.map { Conflict(flag: $0.flag.rawValue, value: $0.value, replica: $0.dot.replica, counter: $0.dot.counter) },
                    messages: view.messages.map {
                        Message(message: $0.message, author: $0.author, sent: $0.sent.description, subject: $0.subject,
                                body: $0.body, format: $0.bodyFormat.rawValue, recipients: $0.recipients,
                                attachments: $0.attachments.map(AttachmentJSON.init),
                                bcc: $0.bcc, bodySize: $0.bodySize, bodyOmitted: $0.bodyOmitted ? true : nil,
                                bodyFetch: $0.bodyOmitted ? Self.fetch(s.thread, $0) : nil)
                    },
                    events: view.events.map { Event(event: $0.event, kind: $0.kind.rawValue, at: $0.at.description, by: $0.by) },
                    quarantined: view.isStaffView ? view.quarantined.map(QuarantinedJSON.init) : nil,
                    bccKept: view.bccKept))
                return
            }
            let labels = Labels(repository)
            Output.line("\(s.subject)")
            Output.line("\(s.thread) · \(labels.patient) \(s.patient) · \(s.status.rawValue) · replies \(s.allowReplies ? "allowed" : "off")")
            for m in view.messages {
                Output.line("\n— \(m.author) · \(m.sent)" + (m.recipients.isEmpty ? "" : " · to \(m.recipients.joined(separator: ", "))")
                            + ((m.bcc ?? []).isEmpty ? "" : " · bcc \(m.bcc!.joined(separator: ", "))"))
                Output.line(m.bodyOmitted
                    ? "[body not shown: \(Output.bytes(m.bodySize)); fetch it with: \(Self.fetch(s.thread, m))]"
                    : m.body)
                for a in m.attachments { Output.line("  📎 \(a.name) (\(a.mediaType), \(Output.bytes(a.size)))") }
            }
            for q in view.quarantined {
                Output.line("\n⚠ quarantined \(q.message): \(q.reason) (kept for staff, never shown to patients)")
            }
        }
    }

    struct Replies: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Turn patient replies on or off in a thread.",
            discussion: "Example:\n  satchel thread replies T-3f… off --as s1")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Thread ID.") var thread: String
        @Argument(help: "on or off.") var setting: String
        @Option(name: .customLong("as"), help: "Staff ID.") var staff: String

        func run() async throws {
            guard setting == "on" || setting == "off" else { throw ValidationError("replies must be on or off") }
            let repository = try StoreContext.open(global)
            try repository.setReplies(setting == "on", thread: thread, as: staff)
            if global.json { try Output.json(["thread": thread, "replies": setting]) } else {
                Output.line("Replies \(setting) in \(thread)")
            }
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close a thread: patients can no longer reply.",
            discussion: "Example:\n  satchel thread close T-3f… --as s1")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Thread ID.") var thread: String
        @Option(name: .customLong("as"), help: "Staff ID.") var staff: String

        func run() async throws { try ThreadCommand.setStatus(.closed, thread: thread, staff: staff, global: global) }
    }

    struct Reopen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reopen a closed thread.",
            discussion: "Example:\n  satchel thread reopen T-3f… --as s1")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Thread ID.") var thread: String
        @Option(name: .customLong("as"), help: "Staff ID.") var staff: String

        func run() async throws { try ThreadCommand.setStatus(.open, thread: thread, staff: staff, global: global) }
    }

    static func setStatus(_ status: ThreadManifest.Status, thread: String, staff: String, global: GlobalOptions) throws {
        let repository = try StoreContext.open(global)
        if status == .closed { try repository.close(thread: thread, as: staff) } else { try repository.reopen(thread: thread, as: staff) }
        if global.json { try Output.json(["thread": thread, "status": status.rawValue]) } else {
            Output.line("\(status == .closed ? "Closed" : "Reopened") \(thread)")
        }
    }
}

struct AttachmentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attachment",
        abstract: "Stream an attachment out of the store.",
        subcommands: [Get.self])

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an attachment to a new file (verified before it appears).",
            discussion: "Example:\n  satchel attachment get T-3f… M-9a… labs.pdf -o ~/Downloads/labs.pdf")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Thread ID.") var thread: String
        @Argument(help: "Message ID.") var message: String
        @Argument(help: "Attachment name.") var name: String
        @Option(name: .shortAndLong, help: "Output file (must not exist).") var output: String
        @Option(name: .customLong("as"), help: "Portal user whose access to check.") var viewer: String?

        func run() async throws {
            let repository = try StoreContext.open(global)
            let attachment = try repository.attachment(thread: thread, message: message, name: name, as: viewer)
            try repository.exportAttachment(attachment, to: output)
            if global.json { try Output.json(AttachmentJSON(attachment)) } else {
                Output.line("Wrote \(attachment.name) (\(Output.bytes(attachment.size))) to \(output)")
            }
        }
    }
}

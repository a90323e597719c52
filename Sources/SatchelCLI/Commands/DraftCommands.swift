import ArgumentParser
import Foundation
import SatchelManifest
import SatchelMessaging

struct DraftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "draft",
        abstract: "Drafts: list, show, update, detach an attachment, send, discard (workstation only).",
        subcommands: [List.self, Show.self, Update.self, Detach.self, Send.self, Discard.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List your drafts, most recently updated first.",
            discussion: "A draft belongs to its author; staff with the viewAllDrafts permission see everyone's.\n\nExample:\n  satchel draft list --as s1")
        @OptionGroup var global: GlobalOptions
        @Option(name: .customLong("as"), help: "Staff ID (you see your own drafts).") var staff: String

        struct Entry: Encodable {
            var draft, author, updated: String
            var subject: String?

            enum CodingKeys: String, CodingKey { case draft, author, updated, subject }

            /// Every key of docs/CLI.md is present; a missing subject is `null`.
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(draft, forKey: .draft)
                try c.encode(author, forKey: .author)
                try c.encode(updated, forKey: .updated)
                try c.encode(subject, forKey: .subject)
            }
        }

        func run() async throws {
            let drafts = try StoreContext.open(global).drafts(as: staff)
            if global.json {
                try Output.json(["drafts": drafts.map { Entry(draft: $0.draft, author: $0.author, updated: $0.updated.description, subject: $0.subject) }])
                return
            }
            if drafts.isEmpty { Output.line("No drafts.") }
            for d in drafts { Output.line("\(d.draft)  \(d.author)  \(d.updated)  \(d.subject ?? "(no subject)")") }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a draft, its recipients and attachments.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Draft ID.") var draft: String
        @Option(name: .customLong("as"), help: "Staff ID (a draft belongs to its author).") var staff: String
        @Option(name: .shortAndLong, help: "Also write the body (any size) to this new file.") var output: String?

        struct Result: Encodable {
            var draft, author: String
            var subject, body, patient, bulk: String?
            var recipients, toStaff, bccLists: [String]
            var attachments: [AttachmentJSON]
            var siblings: Int
            var bodySize: UInt64?
            var bodyOmitted: Bool?

            enum CodingKeys: String, CodingKey {
                case draft, author, subject, body, patient, bulk, recipients, toStaff, bccLists, attachments, siblings
                case bodySize, bodyOmitted
            }

            /// Every key of docs/CLI.md is present; what an incomplete draft lacks is `null`.
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(draft, forKey: .draft)
                try c.encode(author, forKey: .author)
                try c.encode(subject, forKey: .subject)
                try c.encode(body, forKey: .body)
                try c.encode(patient, forKey: .patient)
                try c.encode(bulk, forKey: .bulk)
                try c.encode(recipients, forKey: .recipients)
                try c.encode(toStaff, forKey: .toStaff)
                try c.encode(bccLists, forKey: .bccLists)
                try c.encode(attachments, forKey: .attachments)
                try c.encode(siblings, forKey: .siblings)
                try c.encodeIfPresent(bodySize, forKey: .bodySize)
                try c.encodeIfPresent(bodyOmitted, forKey: .bodyOmitted)
            }
        }

        func run() async throws {
            let repository = try StoreContext.open(global)
            let (head, d) = try repository.draftVersions(draft, as: staff, viewing: true)
            if let output {
                try repository.exportDraftBody(draft, as: staff, to: output)
            }
            // A body too large to show is left out with its size (fetch it with -o FILE).
            let shown = try repository.draftBodyText(d)
            let omitted = shown != nil && shown?.text == nil
            let body = shown?.text ?? (omitted ? "" : nil)
            let result = Result(draft: d.id, author: d.author, subject: d.subject, body: body, patient: d.patient,
                                bulk: d.bulk?.rawValue, recipients: d.recipients, toStaff: d.toStaff, bccLists: d.bccLists,
                                attachments: d.attachments.map(AttachmentJSON.init), siblings: head.live.count,
                                bodySize: shown?.size, bodyOmitted: omitted ? true : nil)
            if global.json {
                try Output.json(result)
                return
            }
            Output.line("Draft \(d.id) by \(d.author), updated \(d.updated)")
            if head.live.count > 1 {
                Output.line("Concurrent versions: \(head.live.count) (showing the latest; an update or detach resolves them)")
            }
            Output.line("To: \((d.recipients + (d.patient.map { ["patient \($0)"] } ?? []) + (d.bulk.map { ["bulk \($0.rawValue)"] } ?? [])).joined(separator: ", "))")
            if !d.bccLists.isEmpty { Output.line("Bcc lists: \(d.bccLists.joined(separator: ", "))") }
            Output.line("Subject: \(d.subject ?? "")")
            Output.line(omitted ? "[body not shown: \(Output.bytes(shown?.size ?? 0)); write it out with: satchel draft show \(d.id) --as \(staff) -o FILE]" : body ?? "")
            for a in d.attachments { Output.line("  📎 \(a.name) (\(a.mediaType), \(Output.bytes(a.size)))") }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a draft: any compose flag replaces that field; --attach adds files.",
            discussion: "Example:\n  satchel draft update D-1c… --as s1 --subject \"New subject\" --attach scan.pdf")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Draft ID.") var draft: String
        @OptionGroup var compose: ComposeOptions

        func run() async throws {
            guard let author = compose.author else { throw ValidationError("--as STAFF is required (a draft belongs to its author)") }
            try StoreContext.open(global).updateDraft(draft, as: author, compose.update())
            if global.json { try Output.json(["draft": draft]) } else { Output.line("Updated draft \(draft)") }
        }
    }

    struct Detach: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove an attachment from a draft before sending.",
            discussion: "Example:\n  satchel draft detach D-1c… scan.pdf --as s1")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Draft ID.") var draft: String
        @Argument(help: "Attachment name.") var name: String
        @Option(name: .customLong("as"), help: "Staff ID (the draft's author).") var staff: String

        func run() async throws {
            try StoreContext.open(global).detach(draft: draft, name: name, as: staff)
            if global.json { try Output.json(["draft": draft]) } else { Output.line("Removed \(name) from draft \(draft)") }
        }
    }

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a draft now (all compose rules apply).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Draft ID.") var draft: String
        @Option(name: .customLong("as"), help: "Staff ID (the draft's author).") var staff: String

        func run() async throws {
            let repository = try StoreContext.open(global)
            let progress = TerminalProgress(json: global.json)
            let result = try repository.sendDraft(draft, as: staff, progress: progress.handler)
            progress.done()
            try printSend(result, json: global.json, labels: Labels(repository))
        }
    }

    struct Discard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Discard a draft (also on other workstations at their next sync).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Draft ID.") var draft: String
        @Option(name: .customLong("as"), help: "Staff ID (the draft's author).") var staff: String

        func run() async throws {
            try StoreContext.open(global).discardDraft(draft, as: staff)
            if global.json { try Output.json(["draft": draft]) } else { Output.line("Discarded draft \(draft)") }
        }
    }
}

import ArgumentParser
import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore

struct DirectoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "directory",
        abstract: "The clinic directory: patients, portal users, staff, lists, settings.",
        subcommands: [Import.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a directory file and make it the current directory.",
            discussion: """
                The file (docs/FORMAT.md, section 4.2) is parsed with a hardened parser, validated against \
                its schema and checked for dangling references; a bad file changes nothing (exit 65).

                Example:
                  satchel directory import clinic-directory.xml
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Directory XML file.") var file: String

        struct Result: Encodable { var directory: String; var patients, portalUsers, staff: Int }

        func run() async throws {
            let repository = try StoreContext.open(global)
            let bytes = try readInput(file, limit: ParseLimits.default.maxInputBytes)
            let (id, directory): (ObjectID, Directory)
            do { (id, directory) = try repository.importDirectory(bytes) } catch let error as ManifestError {
                throw CLIError(.badInput, "\(file): \(error)")
            }
            let result = Result(directory: id.description, patients: directory.patients.count,
                                portalUsers: directory.portalUsers.count, staff: directory.staff.count)
            if global.json { try Output.json(result) } else {
                Output.line("Imported directory: \(result.patients) patients, \(result.portalUsers) portal users, \(result.staff) staff")
            }
        }
    }
}

struct ComposeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compose",
        abstract: "Write a secure message: send it now, or save it as a draft.",
        discussion: """
            Examples:
              satchel compose --as s1 --patient p1 --subject "Lab results" --body "Your results are ready." \\
                --attach labs.pdf --send
              satchel compose --as s1 --bulk active-patients --bcc-list nursing --template flu-clinic --send
              satchel compose --as s1 --to u1 --subject "Follow-up" --draft
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var compose: ComposeOptions
    @Flag(help: "Send now.") var send = false
    @Flag(help: "Save as a draft (workstation only).") var draft = false

    func validate() throws {
        guard send != draft else { throw ValidationError("choose one of --send or --draft") }
    }

    func run() async throws {
        let repository = try StoreContext.open(global)
        let request = try compose.request()
        if draft {
            let id = try repository.saveDraft(request)
            if global.json { try Output.json(["draft": id]) } else { Output.line("Saved draft \(id)") }
        } else {
            let progress = TerminalProgress(json: global.json)
            let result = try repository.send(request, progress: progress.handler)
            progress.done()
            try printSend(result, json: global.json, labels: Labels(repository))
        }
    }
}

struct ReplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reply",
        abstract: "Reply in a thread, as staff or as a patient/representative (portal).",
        discussion: """
            Patients and representatives reply on the portal store, only while the thread is open \
            and replies are allowed, and never with attachments (exit 77 otherwise).

            Example:
              satchel reply T-3f… --as u1 --body "Thank you, see you Monday."
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Thread ID.") var thread: String
    @Option(name: .customLong("as"), help: "Staff or portal user ID.") var actor: String
    @Option(help: "Body text.") var body: String?
    @Option(name: .customLong("body-file"), help: "File holding the body.") var bodyFile: String?
    @Flag(help: "The body is rich text (staff).") var rich = false
    @Option(name: .customLong("attach"), help: "File to attach (staff only; repeatable).") var attachments: [String] = []

    func validate() throws {
        guard (body == nil) != (bodyFile == nil) else { throw ValidationError("give exactly one of --body or --body-file") }
    }

    func run() async throws {
        let repository = try StoreContext.open(global)
        let input: BodyInput = body.map(BodyInput.text) ?? .file(path: bodyFile!)
        let result = try repository.reply(thread: thread, as: actor, body: input, rich: rich,
                                          attachments: attachments.map { .file(path: $0) })
        if global.json { try Output.json(["thread": result.thread, "message": result.message]) } else {
            Output.line("Replied in \(result.thread) (message \(result.message))")
        }
    }
}

/// Reads a whole input file that must be small (directory imports), refusing larger ones.
func readInput(_ path: String, limit: Int) throws -> [UInt8] {
    guard let handle = FileHandle(forReadingAtPath: path) else {
        throw CLIError(.missingInput, "cannot read \(path)")
    }
    defer { try? handle.close() }
    let data = try handle.read(upToCount: limit + 1) ?? Data()
    guard data.count <= limit else { throw CLIError(.badInput, "\(path) is larger than the \(limit)-byte limit") }
    return Array(data)
}

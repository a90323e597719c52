import ArgumentParser
import SatchelStore

/// Plumbing for operators: put, read and inspect raw objects.
struct ObjectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "object",
        abstract: "Plumbing: store, read and inspect raw objects by ID.",
        subcommands: [Put.self, Get.self, Info.self, List.self])

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stream files into the store as durable objects; print their IDs.",
            discussion: "Example:\n  satchel object put scan.pdf notes.txt")

        @OptionGroup var global: GlobalOptions
        @Option(help: "Object kind: blob or manifest.") var kind: String = "blob"
        @Argument(help: "Files to store.") var files: [String]

        func run() async throws {
            guard let kind = ObjectKind(name: kind) else { throw ValidationError("--kind must be blob or manifest") }
            let context = try StoreContext.open(global)
            var ids: [String] = []
            for file in files { ids.append(try context.store.putFile(kind, path: file).description) }
            if global.json { try Output.json(["objects": ids]) } else { ids.forEach(Output.line) }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an object's verified payload to a new file.",
            discussion: "Example:\n  satchel object get sha256:ab12… -o out.bin")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Object ID (sha256:<hex>).") var id: String
        @Option(name: .shortAndLong, help: "Output file (must not exist).") var output: String

        func run() async throws {
            let context = try StoreContext.open(global)
            let id = try parseID(id)
            try context.store.export(id, to: output)
            if global.json { try Output.json(["object": id.description, "file": output]) }
        }
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an object's kind and length.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Object ID (sha256:<hex>).") var id: String

        func run() async throws {
            let context = try StoreContext.open(global)
            let id = try parseID(id)
            let info = try context.store.info(id)
            if global.json {
                try Output.json(InfoResult(object: id.description, kind: info.kind.name, length: info.length))
            } else {
                Output.line("\(id) \(info.kind) \(info.length)")
            }
        }
        struct InfoResult: Encodable { var object, kind: String; var length: UInt64 }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every object ID in the store.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let context = try StoreContext.open(global)
            let ids = try context.store.allObjectIDs().sorted().map(\.description)
            if global.json { try Output.json(["objects": ids]) } else { ids.forEach(Output.line) }
        }
    }
}

struct RefCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ref",
        abstract: "Plumbing: list refs (thread heads, draft heads, checkpoints).",
        subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List refs and the objects they point at.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only refs under this prefix, e.g. threads/.") var prefix: String = ""

        func run() async throws {
            let context = try StoreContext.open(global)
            let refs = try context.store.refs.list(prefix: prefix)
            if global.json {
                try Output.json(["refs": Dictionary(uniqueKeysWithValues: refs.map { ($0.name.rawValue, $0.id.description) })])
            } else {
                for ref in refs { Output.line("\(ref.id) \(ref.name)") }
            }
        }
    }
}

func parseID(_ text: String) throws -> ObjectID {
    guard let id = ObjectID(text) else {
        throw CLIError(.usage, "'\(text.prefix(80))' is not an object ID (expected sha256:<64 hex>)")
    }
    return id
}

import ArgumentParser
import SatchelMessaging
import SatchelStore

struct FsckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsck",
        abstract: "Verify every object, pack, ref and manifest reference in the store.",
        discussion: """
            Rehashes every loose and packed object, checks pack and index checksums, that every \
            ref points at an existing object and that every object a manifest mentions exists. \
            Exits 1 when it finds damage, with one line per problem.

            Example:
              satchel fsck --store ./clinic-laptop --json
            """)

    @OptionGroup var global: GlobalOptions

    struct Result: Encodable {
        var objects: Int
        var problems: [Problem]
        struct Problem: Encodable { var kind, object, detail: String }
    }

    func run() async throws {
        let context = try StoreContext.open(global)
        let report = try context.fsck()
        if global.json {
            try Output.json(Result(objects: report.objects,
                                   problems: report.problems.map { .init(kind: $0.kind, object: $0.object, detail: $0.detail) }))
        } else {
            for problem in report.problems { Output.line(problem.description) }
            Output.line(report.isClean ? "\(report.objects) objects checked, no problems"
                                       : "\(report.objects) objects checked, \(report.problems.count) problem(s)")
        }
        if !report.isClean { throw ExitCode(ExitStatus.damage.rawValue) }
    }
}

struct GCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove unreachable objects older than the grace period and consolidate packs.",
        discussion: """
            Objects reachable from any ref are always kept; unreachable ones younger than the \
            grace period are kept too, so a concurrent writer never loses what it just stored.

            Example:
              satchel gc --grace-hours 336
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "Keep unreachable objects younger than this many hours.")
    var graceHours: Double = ObjectStore.defaultGrace / 3600

    struct Result: Encodable {
        var reachable, removedLoose, removedPacks, repacked, keptYoung, removedTemp: Int
        var bytesFreed: UInt64
    }

    func run() async throws {
        guard graceHours >= 0 else { throw ValidationError("--grace-hours must not be negative") }
        let context = try StoreContext.open(global)
        let report = try context.store.gc(grace: graceHours * 3600)
        if global.json {
            try Output.json(Result(reachable: report.reachable, removedLoose: report.removedLoose,
                                   removedPacks: report.removedPacks, repacked: report.repacked,
                                   keptYoung: report.keptYoung, removedTemp: report.removedTemp,
                                   bytesFreed: report.bytesFreed))
        } else {
            Output.line("""
                \(report.reachable) reachable objects; removed \(report.removedLoose) loose objects, \
                \(report.removedPacks) packs, \(report.removedTemp) leftovers; kept \(report.keptYoung) \
                recent unreachable objects; freed \(Output.bytes(report.bytesFreed))
                """)
        }
    }
}

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show object, byte, thread and draft counts of the store.",
        discussion: "Example:\n  satchel stats --json")

    @OptionGroup var global: GlobalOptions

    struct Result: Encodable {
        var objects: Int
        var bytes: UInt64
        var threads: Int
        var drafts: Int
        var replica: String
        var role: String
        var looseObjects: Int
        var packs: Int
    }

    func run() async throws {
        let context = try StoreContext.open(global)
        let stats = try context.store.stats()
        let result = Result(objects: stats.objects, bytes: stats.bytes, threads: stats.refs["threads"] ?? 0,
                            drafts: try context.draftCount(), replica: context.replica, role: context.role.rawValue,
                            looseObjects: stats.looseObjects, packs: stats.packs)
        if global.json {
            try Output.json(result)
        } else {
            Output.line("store    \(context.store.root) (\(result.role), replica \(result.replica))")
            Output.line("objects  \(result.objects) (\(result.looseObjects) loose, \(stats.packedObjects) in \(result.packs) packs), \(Output.bytes(result.bytes))")
            Output.line("threads  \(result.threads)")
            Output.line("drafts   \(result.drafts)")
        }
    }
}

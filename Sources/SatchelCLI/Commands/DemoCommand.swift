import ArgumentParser
import Foundation
import SatchelDemo

/// `satchel demo`: the story end to end in a temporary directory, narrated as it runs.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the Satchel story end to end in a temporary directory, narrated.",
        discussion: """
            A clinic laptop (workstation store) and the patient portal (portal store): the laptop \
            works offline, they sync, a patient replies while staff close the thread, they sync \
            again and converge with nothing lost; the laptop is backed up, lost and restored under a \
            new replica ID, and keeps syncing. The directory is kept so you can explore it.

            Example:
              swift run satchel demo
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "Directory to create the demo stores in (default: a new temporary directory).")
    var directory: String?

    func run() async throws {
        let base = directory ?? (NSTemporaryDirectory() + "satchel-demo-" + String(UUID().uuidString.prefix(8)).lowercased())
        let quiet = global.json
        func say(_ text: String) { if !quiet { Output.line(text) } }
        say("Satchel demo in \(base)")
        let summary = try Demo.run(in: base, step: { say("\n▸ " + $0) }, say: say)
        if global.json {
            try Output.json(summary)
        } else {
            say("""

                Done in \(String(format: "%.2f", summary.seconds)) s: \(summary.threads) threads, \(summary.objects) objects, \
                \(Output.bytes(summary.bytes)) on the laptop; converged: \(summary.converged); fsck clean: \(summary.fsckClean).
                Explore (satchel = `swift run satchel`, or .build/debug/satchel):
                  satchel thread list --store \(summary.workstation)
                  satchel thread show \(summary.labThread) --store \(summary.portal) --as u1
                  satchel outbox list --store \(summary.portal)
                  satchel draft list --as s2 --store \(summary.workstation)
                  satchel fsck --store \(summary.portal)
                  satchel stats --store \(summary.restoredStore)
                """)
        }
        if !summary.allChecksPass { throw ExitCode(ExitStatus.damage.rawValue) }
    }
}

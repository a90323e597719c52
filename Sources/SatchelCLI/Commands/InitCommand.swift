import ArgumentParser
import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a new store with a fresh replica ID.",
        discussion: """
            A workstation store is where staff work (drafts, Staff Bcc, offline). A portal store \
            is patient-facing and never holds staff-only data. PATH must be absent or empty.

            Examples:
              satchel init ./clinic-laptop --role workstation --name "Front desk laptop"
              satchel init /srv/portal-store --role portal
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Directory for the new store (absent or empty).")
    var path: String

    @Option(help: "workstation or portal.")
    var role: String

    @Option(help: "A label for people (shown in stats and sync output).")
    var name: String?

    @Option(help: "Portal base URL for notification links (portal stores), e.g. https://portal.clinic.example.")
    var portalURL: String?

    struct Result: Encodable { var store, replica, role: String }

    func run() async throws {
        guard let role = StoreConfig.Role(rawValue: role) else {
            throw ValidationError("--role must be workstation or portal")
        }
        let root = URL(fileURLWithPath: path).standardizedFileURL.path
        let repository = try Repository.create(at: root, role: role, name: name, portalURL: portalURL)
        let config = repository.config
        if global.json {
            try Output.json(Result(store: root, replica: config.replica, role: role.rawValue))
        } else {
            Output.line("Initialized \(role.rawValue) store at \(root) (replica \(config.replica))")
        }
    }
}

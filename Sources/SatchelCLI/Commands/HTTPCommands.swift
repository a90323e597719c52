import ArgumentParser
import Foundation
import Logging
import SatchelManifest
import SatchelMessaging
import SatchelServer
import SatchelSync

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve HTTP sync for workstations (portal stores only).",
        discussion: """
            Workstations sync with `satchel sync http://HOST:PORT --token-file F`, using a token \
            from `satchel replica register NAME`. Binds to 127.0.0.1 unless told otherwise: put a \
            TLS-terminating proxy in front before exposing it to a network. Runs until SIGINT or \
            SIGTERM. --port 0 picks a free port (printed on start).

            Example:
              satchel serve --store /srv/portal-store --port 8080
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "Address to listen on.") var bind = "127.0.0.1"
    @Option(help: "TCP port (0: any free port).") var port = 8080

    struct Started: Encodable { var url, replica: String; var port: Int }

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
    }

    func run() async throws {
        let repository = try StoreContext.open(global)
        var logger = Logger(label: "satchel.serve")
        logger.logLevel = global.verbose ? .debug : .info
        let server: SyncServer
        do {
            server = try SyncServer(repository: repository, configuration: .init(host: bind, port: port), logger: logger)
        } catch let error as HTTPSyncError {
            throw CLIError(.refused, error.message)
        }
        let host = bind.contains(":") ? "[\(bind)]" : bind
        let json = global.json
        try await server.run(handleSignals: true) { port in
            let url = "http://\(host):\(port)"
            if json {
                try? Output.json(Started(url: url, replica: repository.replica, port: port))
            } else {
                Output.line("Serving portal store \(repository.store.root) (replica \(repository.replica)) on \(url)")
            }
        }
    }
}

struct ReplicaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replica",
        abstract: "Portal: register, list and revoke per-replica tokens for HTTP sync.",
        subcommands: [Register.self, List.self, Revoke.self])

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mint a token for a workstation (shown once; only a salted hash is stored).",
            discussion: """
                NAME labels the workstation, e.g. front-desk-laptop. Save the token on the \
                workstation in a file only its user can read, and sync with --token-file.

                Example:
                  satchel replica register front-desk-laptop --json > token.json
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Label of the workstation ([A-Za-z0-9._-], up to 128).") var name: String

        struct Result: Encodable { var replica, token: String }

        func run() async throws {
            let repository = try StoreContext.open(global)
            let (token, _) = try ReplicaTokens(repository).register(name)
            if global.json { try Output.json(Result(replica: name, token: token)) } else {
                Output.line("Token for \(name) (shown once; store it on the workstation and pass --token-file):")
                Output.line(token)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered replicas: name, created, revoked, bound replica.")
        @OptionGroup var global: GlobalOptions

        struct Entry: Encodable {
            var replica, created: String
            var revoked, boundTo: String?
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(replica, forKey: .replica)
                try c.encode(created, forKey: .created)
                try c.encode(revoked, forKey: .revoked)
                try c.encode(boundTo, forKey: .boundTo)
            }
            enum CodingKeys: String, CodingKey { case replica, created, revoked, boundTo }
        }
        struct Result: Encodable { var replicas: [Entry] }

        func run() async throws {
            let repository = try StoreContext.open(global)
            let entries = try ReplicaTokens(repository).list().map {
                Entry(replica: $0.name, created: $0.created.description, revoked: $0.revoked?.description, boundTo: $0.replica)
            }
            if global.json { try Output.json(Result(replicas: entries)) } else {
                if entries.isEmpty { Output.line("No replicas registered (satchel replica register NAME).") }
                for e in entries {
                    let state = e.revoked.map { "revoked \($0)" } ?? "active"
                    Output.line("\(e.replica)  created \(e.created)  \(state)\(e.boundTo.map { "  replica \($0)" } ?? "")")
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a replica's token: its next request gets 401.",
            discussion: "Example:\n  satchel replica revoke front-desk-laptop")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Name given to replica register.") var name: String

        struct Result: Encodable { var replica, revoked: String }

        func run() async throws {
            let repository = try StoreContext.open(global)
            let record = try ReplicaTokens(repository).revoke(name)
            let revoked = record.revoked?.description ?? ""
            if global.json { try Output.json(Result(replica: name, revoked: revoked)) } else {
                Output.line("Revoked the token of \(name) (\(revoked)).")
            }
        }
    }
}

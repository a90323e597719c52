import Foundation
import Testing

/// Issue #13 through the `satchel` binary: access on every path, template rules, delivery to a
/// gateway (flaky, and killed mid-run), staff views, large bodies.
@Suite struct AccessCLITests {
    static let fixture = MessagingCLITests.fixture

    private func store(_ scratch: Scratch, _ role: String, name: String? = nil, directory: String = fixture) throws -> String {
        let path = scratch.path + "/" + (name ?? role)
        var arguments = ["init", path, "--role", role]
        if role == "portal" { arguments += ["--portal-url", "https://portal.example.org"] }
        #expect(try CLI.run(arguments).status == 0)
        let imported = try CLI.run("directory", "import", directory, "--store", path)
        #expect(imported.status == 0, "\(imported.stderr)")
        return path
    }

    @discardableResult
    private func run(_ store: String, _ arguments: [String], status: Int32 = 0, mentions: [String] = [],
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> CLI.Result {
        let before = Scratch.snapshotFiles(store)
        let result = try CLI.run(["--store", store] + arguments)
        #expect(result.status == status, "satchel \(arguments.joined(separator: " ")): \(result.stderr)",
                sourceLocation: sourceLocation)
        if status != 0 {
            for word in mentions {
                #expect(result.stderr.contains(word), "\(result.stderr) should mention \(word)", sourceLocation: sourceLocation)
            }
            if status != 64 {
                #expect(Scratch.snapshotFiles(store) == before, "a failed command changed the store", sourceLocation: sourceLocation)
            }
        }
        return result
    }

    private func fixtureText() throws -> String { try String(contentsOfFile: Self.fixture, encoding: .utf8) }

    private func outbox(_ store: String) throws -> [[String: Any]] {
        try run(store, ["outbox", "list", "--json"]).json["outbox"] as? [[String: Any]] ?? []
    }

    @Test func representativeIsNotifiedOnlyAtTheirOwnAddress() throws {
        let scratch = Scratch()
        defer { withExtendedLifetime(scratch) {} }
        let portal = try store(scratch, "portal")
        try run(portal, ["compose", "--as", "s1", "--to", "u2", "--subject", "S", "--body", "B", "--send"])
        #expect(try outbox(portal).map { "\($0["recipient"]!) \($0["address"]!)" } == ["u2 luis@example.org"])
    }

    @Test func revokedAccessRefusesEveryPathAndSyncLosesNothing() throws {
        let scratch = Scratch()
        defer { withExtendedLifetime(scratch) {} }
        let portal = try store(scratch, "portal")
        let laptop = try store(scratch, "workstation", name: "laptop")
        let attachment = scratch.file("labs.pdf", "results")
        let sent = try run(portal, ["compose", "--as", "s1", "--to", "u1", "--subject", "S", "--body", "B",
                                    "--attach", attachment, "--send", "--json"]).json
        let first = try #require((sent["threads"] as? [[String: Any]])?.first)
        let thread = try #require(first["thread"] as? String), message = try #require(first["message"] as? String)
        let revoked = scratch.file("revoked.xml", try fixtureText().replacingOccurrences(
            of: #"email="rosa@example.org" cell="+15550100" portalAccess="true""#,
            with: #"email="rosa@example.org" cell="+15550100" portalAccess="false""#))
        try run(portal, ["directory", "import", revoked])
        let queued = try outbox(portal).count
        for command in [["thread", "list", "--as", "u1"], ["thread", "show", thread, "--as", "u1"],
                        ["reply", thread, "--as", "u1", "--body", "hi"],
                        ["attachment", "get", thread, message, "labs.pdf", "-o", scratch.path + "/a.pdf", "--as", "u1"],
                        ["body", "get", thread, message, "-o", scratch.path + "/b.txt", "--as", "u1"]] {
            try run(portal, command, status: 77, mentions: ["u1", "p1", "portal access"])
        }
        // The laptop (still on the old directory) writes to u1; the portal stores the thread but
        // queues nothing for u1.
        try run(laptop, ["compose", "--as", "s1", "--to", "u1", "--subject", "S2", "--body", "B2", "--send"])
        try run(laptop, ["sync", portal])
        #expect(try outbox(portal).count == queued)
        let staffList = try run(portal, ["thread", "list", "--as", "s1", "--json"]).json["threads"] as? [Any]
        #expect(staffList?.count == 2)
        // Access returns: u1 sees both threads.
        try run(portal, ["directory", "import", Self.fixture])
        #expect((try run(portal, ["thread", "list", "--as", "u1", "--json"]).json["threads"] as? [Any])?.count == 2)
    }

    @Test func templateWithPHIOrWithoutLinkIsRefusedAndStoreUnchanged() throws {
        let scratch = Scratch()
        defer { withExtendedLifetime(scratch) {} }
        let portal = try store(scratch, "portal")
        let text = try fixtureText()
        let phi = scratch.file("phi.xml", text.replacingOccurrences(
            of: "You have a new secure message: {{link}}", with: "Dear Rosa Diaz, your HIV results are in: {{link}}"))
        try run(portal, ["directory", "import", phi], status: 65, mentions: ["notification template default", "patient name"])
        let noLink = scratch.file("nolink.xml", text.replacingOccurrences(
            of: "New secure message: {{link}}", with: "Your results are in"))
        try run(portal, ["directory", "import", noLink], status: 65, mentions: ["notification template default-sms", "{{link}}"])
    }

    @Test func portalWithoutURLRefusesToQueueUntilConfigured() throws {
        let scratch = Scratch()
        defer { withExtendedLifetime(scratch) {} }
        let portal = scratch.path + "/bare"
        #expect(try CLI.run("init", portal, "--role", "portal").status == 0)
        try run(portal, ["directory", "import", Self.fixture])
        let compose = ["compose", "--as", "s1", "--to", "u1", "--subject", "S", "--body", "B", "--send"]
        try run(portal, compose, status: 77, mentions: ["portal URL", "config portal-url"])
        try run(portal, ["config", "portal-url", "https://portal.example.org"])
        try run(portal, compose)
        #expect(try outbox(portal).allSatisfy { ($0["text"] as? String)?.contains("https://portal.example.org/messages/") == true })
    }

    @Test func staffViewsListAllThreadsAndPortalSaysBccIsNotKept() throws {
        let scratch = Scratch()
        defer { withExtendedLifetime(scratch) {} }
        let portal = try store(scratch, "portal")
        let sent = try run(portal, ["compose", "--as", "s1", "--to", "u1", "--subject", "S", "--body", "B", "--send", "--json"]).json
        let thread = try #require(((sent["threads"] as? [[String: Any]])?.first)?["thread"] as? String)
        #expect((try run(portal, ["thread", "list", "--as", "s1", "--json"]).json["threads"] as? [Any])?.count == 1)
        let show = try run(portal, ["thread", "show", thread, "--as", "s2", "--json"]).json
        #expect(show["bccKept"] as? Bool == false)
        let messages = try #require(show["messages"] as? [[String: Any]])
        #expect(messages.allSatisfy { $0["bcc"] == nil })
        let patientView = try run(portal, ["thread", "show", thread, "--as", "u1", "--json"]).json
        #expect(patientView["bccKept"] == nil)
    }

    @Test func largeBodyShowsAMarkerAndIsFetched() throws {
        let scratch = Scratch()
        defer { withExtendedLifetime(scratch) {} }
        let ws = try store(scratch, "workstation")
        let big = scratch.path + "/big.txt"
        let line = String(repeating: "0123456789abcde\n", count: 64 * 1024)  // 1 MiB
        _ = FileManager.default.createFile(atPath: big, contents: Data(String(repeating: line, count: 9).utf8))
        let sent = try run(ws, ["compose", "--as", "s1", "--to", "u1", "--subject", "S", "--body-file", big, "--send", "--json"]).json
        let first = try #require((sent["threads"] as? [[String: Any]])?.first)
        let thread = try #require(first["thread"] as? String), message = try #require(first["message"] as? String)
        let show = try run(ws, ["thread", "show", thread, "--as", "u1", "--json"])
        let shown = try #require((show.json["messages"] as? [[String: Any]])?.first)
        #expect(shown["bodyOmitted"] as? Bool == true && shown["body"] as? String == "")
        #expect(shown["bodySize"] as? Int == 9 << 20)
        #expect((shown["bodyFetch"] as? String)?.contains("satchel body get \(thread) \(message)") == true)
        let human = try run(ws, ["thread", "show", thread])
        #expect(human.stdout.contains("body not shown") && human.stdout.count < 10_000)
        try run(ws, ["body", "get", thread, message, "-o", scratch.path + "/out.txt", "--as", "u1"])
        #expect(FileManager.default.contents(atPath: scratch.path + "/out.txt") == FileManager.default.contents(atPath: big))
    }

    /// A gateway that fails half the time, and a delivery run killed with SIGKILL in the
    /// middle: after retries every notification is in the gateway's log exactly once, and the
    /// store says every one is sent.
    @Test func flakyGatewayAndKill9EndWithEveryNotificationSentOnce() throws {
        let scratch = Scratch()
        defer { withExtendedLifetime(scratch) {} }
        let portal = try store(scratch, "portal")
        for i in 0..<4 {
            try run(portal, ["compose", "--as", "s1", "--patient", "p1", "--subject", "S\(i)", "--body", "B", "--send"])
        }
        let all = Set(try outbox(portal).compactMap { $0["notification"] as? String })
        #expect(all.count == 12)
        // The gateway: reads the JSON, fails at random half the time, drops IDs it already
        // delivered (the notification ID is its idempotency key), logs every hand-off and
        // every delivery, and is slow enough to be killed in the middle.
        let gateway = scratch.file("gateway.sh", """
            #!/bin/sh
            input=$(cat)
            id=$(printf '%s' "$input" | sed 's/.*"notification":"\\([^"]*\\)".*/\\1/')
            echo "$id" >> "\(scratch.path)/handoffs.log"
            sleep 0.05
            r=$(od -An -N1 -tu1 /dev/urandom | tr -d ' ')
            if [ $((r % 2)) -eq 0 ]; then exit 1; fi
            if grep -qx "$id" "\(scratch.path)/delivered.log" 2>/dev/null; then exit 0; fi
            echo "$id" >> "\(scratch.path)/delivered.log"
            exit 0
            """)
        let command = "sh " + gateway
        // A run killed with SIGKILL once a few notifications were handed out.
        let victim = CLI.process(["--store", portal, "outbox", "deliver", "--command", command, "--retry-after", "0"])
        victim.standardOutput = FileHandle.nullDevice
        victim.standardError = FileHandle.nullDevice
        try victim.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let handoffs = (try? String(contentsOfFile: scratch.path + "/handoffs.log", encoding: .utf8)) ?? ""
            if handoffs.split(separator: "\n").count >= 3 { break }
            usleep(10_000)
        }
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        #expect(victim.terminationReason == .uncaughtSignal)
        // Let the killed run's orphaned gateway finish (a real gateway dedupes atomically).
        usleep(500_000)
        // Retries until nothing is pending.
        var runs = 0
        while runs < 60 {
            runs += 1
            let result = try run(portal, ["outbox", "deliver", "--command", command, "--retry-after", "0", "--json"]).json
            #expect(Set(result.keys) == ["sent", "failed", "pending"])
            if result["pending"] as? Int == 0 { break }
        }
        let entries = try outbox(portal)
        #expect(entries.allSatisfy { $0["status"] as? String == "sent" })
        #expect(entries.allSatisfy { ($0["attempts"] as? Int ?? 0) >= 1 })
        let delivered = try String(contentsOfFile: scratch.path + "/delivered.log", encoding: .utf8)
            .split(separator: "\n").map(String.init)
        #expect(delivered.count == all.count && Set(delivered) == all)
        // Hand-offs after "sent" was recorded never happen: a rerun hands out nothing.
        let before = try String(contentsOfFile: scratch.path + "/handoffs.log", encoding: .utf8)
        let last = try run(portal, ["outbox", "deliver", "--command", command, "--json"]).json
        #expect(last["sent"] as? Int == 0 && last["pending"] as? Int == 0)
        #expect(try String(contentsOfFile: scratch.path + "/handoffs.log", encoding: .utf8) == before)
    }
}

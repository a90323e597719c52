import Foundation
import SatchelTestSupport
import Testing

/// Messaging end to end through the `satchel` binary: exit codes, one-line errors, JSON keys
/// of CONTRACT.md, and `--as` views.
@Suite struct MessagingCLITests {
    /// The sample directory (fixtures/xml/valid/directory.xml): s1 (bulk), s2; list nursing =
    /// [s2]; p1 active with u1, u2; p2 discharged with u3 (inactive).
    static let fixture = SourceTree.sampleDirectory

    /// A store of `role` with the sample directory imported.
    private func store(_ scratch: Scratch, _ role: String, name: String? = nil) throws -> String {
        let path = scratch.path + "/" + (name ?? role)
        let initialized = try CLI.run(["init", path, "--role", role] + (role == "portal" ? ["--portal-url", "https://portal.example.org"] : []))
        #expect(initialized.status == 0, "\(initialized.stderr)")
        let imported = try CLI.run("directory", "import", Self.fixture, "--store", path)
        #expect(imported.status == 0, "\(imported.stderr)")
        return path
    }

    /// Runs `satchel` on `store` and expects `status`; for a failure, also one stderr line
    /// mentioning `mentions`, and the store unchanged.
    @discardableResult
    private func run(_ store: String, _ arguments: [String], status: Int32 = 0, mentions: [String] = [],
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> CLI.Result {
        let before = snapshot(store)
        let result = try CLI.run(["--store", store] + arguments)
        #expect(result.status == status, "satchel \(arguments.joined(separator: " ")): \(result.stderr)",
                sourceLocation: sourceLocation)
        if status != 0 {
            #expect(result.stderr.hasPrefix("satchel: ") || status == 64, "\(result.stderr)", sourceLocation: sourceLocation)
            if status != 64 {
                #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)", sourceLocation: sourceLocation)
            }
            for word in mentions {
                #expect(result.stderr.contains(word), "\(result.stderr) should mention \(word)", sourceLocation: sourceLocation)
            }
            #expect(snapshot(store) == before, "a failed command changed the store", sourceLocation: sourceLocation)
        }
        return result
    }

    private func snapshot(_ store: String) -> [String: Data] { Scratch.snapshotFiles(store) }

    private func keys(_ value: Any?) -> Set<String> {
        guard let dictionary = value as? [String: Any] else { return [] }
        return Set(dictionary.keys)
    }

    private func count(_ value: Any?) -> Int? { (value as? [Any])?.count }

    // MARK: Directory import

    @Test func badDirectoryFileIs65AndChangesNothing() throws {
        let scratch = Scratch()
        defer { withExtendedLifetime(scratch) {} }
        let ws = try store(scratch, "workstation")
        let malformed = scratch.file("bad.xml", #"<directory xmlns="urn:satchel:directory:1"><staff id="s1""#)
        let bad = try run(ws, ["directory", "import", malformed], status: 65, mentions: ["line 1, column"])
        #expect(bad.stderr.contains("bad.xml"))
        let dangling = scratch.file("dangling.xml", """
            <directory xmlns="urn:satchel:directory:1"><settings defaultAllowReplies="true"/>\
            <portalUser id="u1" patient="p404" role="patient" active="true" name="X"/></directory>
            """)
        try run(ws, ["directory", "import", dangling], status: 65, mentions: ["p404"])
        let entity = scratch.file("entity.xml", """
            <?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\
            <directory xmlns="urn:satchel:directory:1">&x;</directory>
            """)
        try run(ws, ["directory", "import", entity], status: 65)
        try run(ws, ["directory", "import", scratch.path + "/missing.xml"], status: 66, mentions: ["missing.xml"])
        // The old directory is still in force.
        #expect(try run(ws, ["compose", "--as", "s1", "--to", "u1", "--subject", "S", "--body", "B", "--send"]).status == 0)
    }

    // MARK: Sync (issue #10)

    /// The sequence that used to wedge sync forever: the laptop closes and syncs, staff on the
    /// portal reopen, the patient replies. Every sync after that succeeds, both ways.
    @Test func closeReopenReplySyncsBothWaysThroughTheCLI() throws {
        let scratch = Scratch()
        defer { withExtendedLifetime(scratch) {} }
        let laptop = try store(scratch, "workstation", name: "laptop")
        let portal = try store(scratch, "portal", name: "portal")
        let sent = try run(laptop, ["compose", "--as", "s1", "--to", "u1", "--subject", "S", "--body", "B", "--send", "--json"])
        let thread = try #require((sent.json["threads"] as? [[String: Any]])?.first?["thread"] as? String)
        try run(laptop, ["thread", "close", thread, "--as", "s1"])
        try run(laptop, ["sync", portal])
        try run(portal, ["thread", "reopen", thread, "--as", "s2"])
        let reply = try run(portal, ["reply", thread, "--as", "u1", "--body", "Thanks", "--json"])
        let replyID = try #require(reply.json["message"] as? String)
        for _ in 0..<2 {
            let synced = try run(laptop, ["sync", portal, "--json"])
            #expect(keys(synced.json) == ["sent", "received", "quarantined"])
            #expect(count(synced.json["quarantined"]) == 0)
        }
        let shown = try run(laptop, ["thread", "show", thread, "--json"])
        #expect(shown.json["status"] as? String == "open")
        #expect((shown.json["messages"] as? [[String: Any]])?.map { $0["message"] as? String }.contains(replyID) == true)
        #expect((shown.json["events"] as? [[String: Any]])?.map { $0["kind"] as? String } == ["message", "close", "reopen", "message"])
        // Replies off through the CLI, then the patient is refused with the reason.
        try run(laptop, ["thread", "replies", thread, "off", "--as", "s1"])
        try run(laptop, ["sync", portal])
        try run(portal, ["reply", thread, "--as", "u1", "--body", "Again"], status: 77, mentions: ["u1", thread])
        try run(portal, ["thread", "replies", thread, "sideways", "--as", "s1"], status: 64)
    }

    // MARK: Compose

    @Test func composeSendAndDraftJSON() throws {
        let scratch = Scratch()
        defer { withExtendedLifetime(scratch) {} }
        let ws = try store(scratch, "workstation")
        let sent = try run(ws, ["compose", "--as", "s1", "--patient", "p1", "--subject", "Labs", "--body", "Ready",
                                "--bcc-list", "nursing", "--send", "--json"])
        #expect(keys(sent.json) == ["threads", "skipped"])
        let threads = try #require(sent.json["threads"] as? [[String: Any]])
        #expect(threads.count == 1)
        #expect(keys(threads[0]) == ["thread", "message", "patient", "recipients"])
        #expect(threads[0]["patient"] as? String == "p1")
        #expect(threads[0]["recipients"] as? [String] == ["u1", "u2"])

        let bulk = try run(ws, ["compose", "--as", "s1", "--bulk", "all", "--template", "labs", "--send", "--json"])
        #expect((bulk.json["threads"] as? [[String: Any]])?.count == 1)
        let skipped = try #require(bulk.json["skipped"] as? [[String: Any]])
        #expect(skipped.count == 1)
        #expect(keys(skipped.first) == ["portalUser", "reason"])
        #expect(skipped.first?["portalUser"] as? String == "u3")
        #expect((skipped.first?["reason"] as? String)?.contains("inactive") == true)

        let draft = try run(ws, ["compose", "--as", "s1", "--to", "u1", "--subject", "Later", "--body", "B", "--draft", "--json"])
        #expect(keys(draft.json) == ["draft"])
        #expect((draft.json["draft"] as? String)?.hasPrefix("D-") == true)

        let human = try run(ws, ["compose", "--as", "s1", "--to", "u1", "--subject", "S", "--body", "B", "--send"])
        #expect(human.stdout.contains("client p1"))  // the directory's label Patient → Client
    }

    @Test func exitCodesOfCompose() throws {
        let scratch = Scratch()
        defer { withExtendedLifetime(scratch) {} }
        let ws = try store(scratch, "workstation")
        let portal = try store(scratch, "portal")
        let base = ["compose", "--as", "s1", "--subject", "S", "--body", "B"]
        // 77: rules and permissions, naming who and why.
        try run(ws, base + ["--to", "u3", "--send"], status: 77, mentions: ["u3", "inactive"])
        try run(ws, ["compose", "--as", "u1", "--to", "u1", "--subject", "S", "--body", "B", "--send"], status: 77, mentions: ["u1"])
        try run(ws, ["compose", "--as", "s2", "--bulk", "all", "--subject", "S", "--body", "B", "--send"], status: 77,
                mentions: ["s2", "sendBulkPortalMessage"])
        try run(portal, base + ["--to", "u1", "--bcc-list", "nursing", "--send"], status: 77, mentions: ["workstation"])
        try run(portal, base + ["--to", "u1", "--draft"], status: 77, mentions: ["workstation"])
        try run(ws, base + ["--to", "u1", "--attach", scratch.path + "/x.pdf", "--send"], status: 66, mentions: ["x.pdf"])
        // 66: people, lists and templates that do not exist.
        try run(ws, base + ["--to", "u404", "--send"], status: 66, mentions: ["u404"])
        try run(ws, base + ["--patient", "p404", "--send"], status: 66, mentions: ["p404"])
        try run(ws, base + ["--to", "u1", "--bcc-list", "surgery", "--send"], status: 66, mentions: ["surgery"])
        try run(ws, ["compose", "--as", "s1", "--to", "u1", "--template", "flu", "--send"], status: 66, mentions: ["flu"])
        // 64: usage.
        try run(ws, base + ["--to", "u1"], status: 64)
        try run(ws, base + ["--to", "u1", "--send", "--draft"], status: 64)
        try run(ws, base + ["--bulk", "everyone", "--send"], status: 64)
        try run(ws, base + ["--to", "u1", "--allow-replies", "--no-replies", "--send"], status: 64)
        try run(ws, ["compose", "--as", "s1", "--to", "u1", "--body", "B", "--body-file", "f", "--subject", "S", "--send"], status: 64)
        try run(ws, ["compose", "--as", "s1", "--to", "u1", "--body", "B", "--send"], status: 64, mentions: ["subject"])
        try run(ws, base + ["--send"], status: 64, mentions: ["recipients"])
        try run(ws, ["compose", "--to", "u1", "--subject", "S", "--body", "B", "--send"], status: 64)
        // Missing store.
        #expect(try CLI.run("compose", "--store", scratch.path + "/none", "--as", "s1", "--to", "u1", "--send").status == 66)
    }

    // MARK: Replies, threads and views

    @Test func replyThreadListShowAndViews() throws {
        let scratch = Scratch()
        defer { withExtendedLifetime(scratch) {} }
        let portal = try store(scratch, "portal")
        let attachment = scratch.file("labs.pdf", "%PDF-1.7 results")
        let sent = try run(portal, ["compose", "--as", "s1", "--patient", "p1", "--subject", "Labs", "--body", "Ready",
                                    "--attach", attachment, "--send", "--json"])
        let thread = try #require((sent.json["threads"] as? [[String: Any]])?.first?["thread"] as? String)
        let message = try #require((sent.json["threads"] as? [[String: Any]])?.first?["message"] as? String)

        let reply = try run(portal, ["reply", thread, "--as", "u2", "--body", "Thanks", "--json"])
        #expect(keys(reply.json) == ["thread", "message"])
        #expect(reply.json["thread"] as? String == thread)
        try run(portal, ["reply", thread, "--as", "u1", "--body", "x", "--attach", attachment], status: 77, mentions: ["u1", "attach"])
        try run(portal, ["reply", "T-nope", "--as", "u1", "--body", "x"], status: 66, mentions: ["T-nope"])
        try run(portal, ["reply", thread, "--as", "u1"], status: 64)
        try run(portal, ["thread", "close", thread, "--as", "u1"], status: 77, mentions: ["u1"])
        try run(portal, ["thread", "close", thread, "--as", "s2"])
        try run(portal, ["reply", thread, "--as", "u1", "--body", "x"], status: 77, mentions: ["u1", "closed"])
        try run(portal, ["thread", "reopen", thread, "--as", "s1"])

        let list = try run(portal, ["thread", "list", "--json"])
        #expect(keys(list.json) == ["threads"])
        let summary = try #require((list.json["threads"] as? [[String: Any]])?.first)
        #expect(keys(summary) == ["thread", "patient", "subject", "status", "allowReplies", "messages", "version"])
        #expect(summary["status"] as? String == "open")
        #expect(summary["messages"] as? Int == 2)
        #expect(summary["allowReplies"] as? Bool == true)
        #expect(keys(summary["version"]).count == 1)

        let show = try run(portal, ["thread", "show", thread, "--json"])
        #expect(keys(show.json) == ["thread", "patient", "subject", "status", "allowReplies", "version", "head", "conflicts",
                                    "messages", "events", "quarantined", "bccKept"])
        #expect(show.json["bccKept"] as? Bool == false)  // a portal keeps no Staff Bcc: not "no Bcc", but not known here
        let messages = try #require(show.json["messages"] as? [[String: Any]])
        #expect(messages.count == 2)
        let events = try #require(show.json["events"] as? [[String: Any]])
        #expect(events.map { $0["kind"] as? String } == ["message", "message", "close", "reopen"])
        for e in events { #expect(keys(e) == ["event", "kind", "by", "at"]) }
        #expect(count(show.json["quarantined"]) == 0)
        let messageKeys: Set<String> = ["message", "author", "sent", "recipients", "subject", "body", "attachments", "bodySize",
                                        "format"]
        for m in messages { #expect(keys(m) == messageKeys) }  // staff view on a portal: no "bcc" key
        let attachments = try #require(messages[0]["attachments"] as? [[String: Any]])
        #expect(keys(attachments.first) == ["name", "mediaType", "size", "sha256"])
        #expect(attachments.first?["name"] as? String == "labs.pdf")
        #expect(attachments.first?["size"] as? Int == 16)
        // What `sha256sum labs.pdf` prints, not the store's object ID.
        #expect(attachments.first?["sha256"] as? String == "4b7b2fcc25fa820ff8d4254077817d6e4c64fd71c4960ce0211afd43f5544518")

        let asPatient = try run(portal, ["thread", "show", thread, "--as", "u1", "--json"])
        #expect(asPatient.json["quarantined"] == nil)  // never shown to portal users
        for m in try #require(asPatient.json["messages"] as? [[String: Any]]) { #expect(keys(m) == messageKeys) }
        #expect(count(try run(portal, ["thread", "list", "--as", "u1", "--json"]).json["threads"]) == 1)
        #expect(count(try run(portal, ["thread", "list", "--patient", "p2", "--json"]).json["threads"]) == 0)

        let out = scratch.path + "/out.pdf"
        try run(portal, ["attachment", "get", thread, message, "labs.pdf", "-o", out])
        #expect(FileManager.default.contents(atPath: out) == FileManager.default.contents(atPath: attachment))
        try run(portal, ["attachment", "get", thread, message, "labs.pdf", "-o", out], status: 73)
        try run(portal, ["attachment", "get", thread, message, "nope.pdf", "-o", scratch.path + "/o2"], status: 66)
    }

    @Test func asViewsHideOtherPatientsAndBcc() throws {
        let scratch = Scratch()
        defer { withExtendedLifetime(scratch) {} }
        let ws = try store(scratch, "workstation")
        let other = scratch.file("other.xml", """
            <directory xmlns="urn:satchel:directory:1"><settings defaultAllowReplies="false"/>\
            <staff id="s1" name="Dr. A"><permission name="sendBulkPortalMessage"/></staff>\
            <staff id="s2" name="N. B"/><distributionList id="nursing" name="Nursing"><member staff="s2"/></distributionList>\
            <patient id="p1" name="R D" status="active" email="r@example.org" portalAccess="true"/>\
            <patient id="p2" name="S L" status="active" cell="+1555" portalAccess="true"/>\
            <portalUser id="u1" patient="p1" role="patient" active="true" name="R D"/>\
            <portalUser id="u3" patient="p2" role="patient" active="true" name="S L"/></directory>
            """)
        try run(ws, ["directory", "import", other])
        let bulk = try run(ws, ["compose", "--as", "s1", "--bulk", "active-patients", "--bcc-list", "nursing",
                                "--subject", "Flu clinic", "--body", "Walk in Monday", "--send", "--json"])
        let threads = try #require(bulk.json["threads"] as? [[String: Any]])
        #expect(threads.count == 2)
        let mine = try #require(threads.first { $0["patient"] as? String == "p1" }?["thread"] as? String)
        let theirs = try #require(threads.first { $0["patient"] as? String == "p2" }?["thread"] as? String)
        let list = try run(ws, ["thread", "list", "--as", "u1", "--json"])
        #expect((list.json["threads"] as? [[String: Any]])?.map { $0["thread"] as? String } == [mine])
        #expect((list.json["threads"] as? [[String: Any]])?.first?["allowReplies"] as? Bool == false)
        let show = try run(ws, ["thread", "show", mine, "--as", "u1", "--json"])
        #expect(!show.stdout.contains("u3") && !show.stdout.contains("p2") && !show.stdout.contains("s2"))
        // No "bcc" key in the patient's view (a substring test would trip on hex IDs such as "…bcc…").
        for message in try #require(show.json["messages"] as? [[String: Any]]) { #expect(message["bcc"] == nil) }
        try run(ws, ["thread", "show", theirs, "--as", "u1"], status: 66, mentions: [theirs])
        try run(ws, ["attachment", "get", theirs, "M-x", "a", "-o", scratch.path + "/a", "--as", "u1"], status: 66)
        let staff = try run(ws, ["thread", "show", mine, "--json"])
        #expect((staff.json["messages"] as? [[String: Any]])?.first?["bcc"] as? [String] == ["s2"])
        let human = try run(ws, ["thread", "show", mine, "--as", "u1"])
        #expect(!human.stdout.contains("· bcc"))
    }

    // MARK: Drafts and outbox

    @Test func draftLifecycleAndJSON() throws {
        let scratch = Scratch()
        defer { withExtendedLifetime(scratch) {} }
        let ws = try store(scratch, "workstation")
        let a = scratch.file("a.pdf", "a"), b = scratch.file("b.pdf", "b")
        let draft = try #require(try run(ws, ["compose", "--as", "s1", "--to", "u1", "--subject", "Plan", "--body", "Body",
                                              "--attach", a, "--attach", b, "--draft", "--json"]).json["draft"] as? String)
        let list = try run(ws, ["draft", "list", "--as", "s1", "--json"])
        #expect(keys(list.json) == ["drafts"])
        #expect(keys((list.json["drafts"] as? [Any])?.first) == ["draft", "author", "subject", "updated"])

        let show = try run(ws, ["draft", "show", draft, "--as", "s1", "--json"])
        #expect(keys(show.json).isSuperset(of: ["draft", "author", "subject", "body", "recipients", "attachments", "siblings"]))
        #expect(show.json["recipients"] as? [String] == ["u1"])
        #expect((show.json["attachments"] as? [[String: Any]])?.map { $0["name"] as? String } == ["a.pdf", "b.pdf"])
        #expect(show.json["siblings"] as? Int == 1)

        try run(ws, ["draft", "update", draft, "--as", "s1", "--subject", "New plan", "--patient", "p1", "--no-replies"])
        try run(ws, ["draft", "detach", draft, "b.pdf", "--as", "s1"])
        try run(ws, ["draft", "detach", draft, "b.pdf", "--as", "s1"], status: 66)
        // --as is required on every draft command; other staff see no subjects in the list.
        for command in [["list"], ["show", draft], ["send", draft], ["discard", draft], ["detach", draft, "a.pdf"],
                        ["update", draft, "--subject", "X"]] {
            try run(ws, ["draft"] + command, status: 64)
        }
        #expect(count(try run(ws, ["draft", "list", "--as", "s2", "--json"]).json["drafts"]) == 0)
        try run(ws, ["draft", "show", draft, "--as", "s2"], status: 77, mentions: [draft, "s1", "s2"])
        try run(ws, ["draft", "update", draft, "--as", "s2", "--subject", "Mine"], status: 77, mentions: ["s2"])
        try run(ws, ["draft", "send", draft, "--as", "s2"], status: 77, mentions: ["s2"])
        try run(ws, ["draft", "discard", draft, "--as", "s2"], status: 77, mentions: ["s2"])
        let updated = try run(ws, ["draft", "show", draft, "--as", "s1", "--json"])
        #expect(updated.json["subject"] as? String == "New plan")
        #expect((updated.json["attachments"] as? [Any])?.count == 1)

        let sent = try run(ws, ["draft", "send", draft, "--as", "s1", "--json"])
        #expect(keys(sent.json) == ["threads", "skipped"])
        let thread = try #require((sent.json["threads"] as? [[String: Any]])?.first?["thread"] as? String)
        let show2 = try run(ws, ["thread", "show", thread, "--json"])
        #expect(show2.json["subject"] as? String == "New plan")
        #expect(show2.json["allowReplies"] as? Bool == false)
        #expect(count(try run(ws, ["draft", "list", "--as", "s1", "--json"]).json["drafts"]) == 0)
        try run(ws, ["draft", "show", draft, "--as", "s1"], status: 66)

        let discard = try #require(try run(ws, ["compose", "--as", "s2", "--to", "u1", "--draft", "--json"]).json["draft"] as? String)
        try run(ws, ["draft", "discard", discard, "--as", "s2"])
        try run(ws, ["draft", "discard", discard, "--as", "s2"], status: 66)
    }

    /// CONTRACT.md lists "subject" and "body" among draft show's keys (and "subject" in draft
    /// list); an incomplete draft omits them instead of writing null.
    @Test func incompleteDraftStillHasEveryContractKey() throws {
        let scratch = Scratch()
        defer { withExtendedLifetime(scratch) {} }
        let ws = try store(scratch, "workstation")
        let draft = try #require(try run(ws, ["compose", "--as", "s1", "--draft", "--json"]).json["draft"] as? String)
        let show = try run(ws, ["draft", "show", draft, "--as", "s1", "--json"])
        #expect(keys(show.json).isSuperset(of: ["draft", "author", "subject", "body", "recipients", "attachments", "siblings"]))
        let list = try run(ws, ["draft", "list", "--as", "s1", "--json"])
        #expect(keys((list.json["drafts"] as? [Any])?.first) == ["draft", "author", "subject", "updated"])
    }

    @Test func draftsOnAPortal() throws {
        let scratch = Scratch()
        defer { withExtendedLifetime(scratch) {} }
        let portal = try store(scratch, "portal")
        let list = try run(portal, ["draft", "list", "--as", "s1", "--json"])
        #expect(count(list.json["drafts"]) == 0)
        try run(portal, ["draft", "show", "D-1", "--as", "s1"], status: 77, mentions: ["workstation"])
    }

    @Test func outboxOnPortalAndWorkstation() throws {
        let scratch = Scratch()
        defer { withExtendedLifetime(scratch) {} }
        let portal = try store(scratch, "portal")
        let ws = try store(scratch, "workstation")
        for store in [portal, ws] {
            try run(store, ["compose", "--as", "s1", "--patient", "p1", "--subject", "Biopsy", "--body", "Benign", "--send"])
        }
        let outbox = try run(portal, ["outbox", "list", "--json"])
        let entries = try #require(outbox.json["outbox"] as? [[String: Any]])
        #expect(entries.count == 3)  // u1 × email, sms (the patient's); u2 × email (their own, notify="email")
        for entry in entries {
            #expect(keys(entry).isSuperset(of: ["thread", "recipient", "channel", "address", "text", "status",
                                                "notification", "attempts"]))
            #expect(entry["status"] as? String == "pending")
            let text = try #require(entry["text"] as? String)
            #expect(text.contains("/messages/") && text.contains(entry["thread"] as? String ?? "?"))
            for phi in ["Biopsy", "Benign", "Rosa", "Diaz", "Luis", "Shaw", "p1"] { #expect(!text.contains(phi)) }
        }
        #expect(Set(entries.map { "\($0["recipient"]!) \($0["channel"]!) \($0["address"]!)" })
                == ["u1 email rosa@example.org", "u1 sms +15550100", "u2 email luis@example.org"])
        #expect(count(try run(ws, ["outbox", "list", "--json"]).json["outbox"]) == 0)
    }
}

extension Scratch {
    /// Every file under `dir` with its bytes.
    static func snapshotFiles(_ dir: String) -> [String: Data] { FileTree.snapshot(dir) }
}

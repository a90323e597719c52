import Foundation
import Testing

@Suite struct StoreCommandTests {
    @Test func initReportsStoreReplicaAndRole() throws {
        let scratch = Scratch()
        let store = scratch.path + "/laptop"
        let result = try CLI.run("init", store, "--role", "workstation", "--json")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.json["role"] as? String == "workstation")
        #expect((result.json["replica"] as? String)?.isEmpty == false)
        #expect(result.json["store"] as? String == store)
        let portal = try CLI.run("init", scratch.path + "/portal", "--role", "portal", "--json")
        #expect(portal.json["replica"] as? String != result.json["replica"] as? String)
    }

    @Test func initRefusesANonEmptyTargetAndChangesNothing() throws {
        let scratch = Scratch()
        let store = scratch.path + "/s"
        try CLI.run("init", store, "--role", "workstation")
        let before = scratch.snapshot(store)
        let again = try CLI.run("init", store, "--role", "portal")
        #expect(again.status == 73)
        #expect(again.stderr.contains("not empty"))
        #expect(scratch.snapshot(store) == before)
    }

    @Test func usageErrors() throws {
        let scratch = Scratch()
        #expect(try CLI.run("init", scratch.path + "/x", "--role", "server").status == 64)
        #expect(try CLI.run("no-such-command").status == 64)
        #expect(try CLI.run("object", "info", "not-an-id", "--store", scratch.path + "/x").status == 66
                || CLI.run("object", "info", "not-an-id", "--store", scratch.path + "/x").status == 64)
    }

    @Test func missingStoreIs66() throws {
        let scratch = Scratch()
        let result = try CLI.run("stats", "--store", scratch.path + "/nowhere")
        #expect(result.status == 66)
        #expect(result.stderr.hasPrefix("satchel: "))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func globalOptionsBeforeOrAfterTheCommand() throws {
        let scratch = Scratch()
        let store = scratch.path + "/s"
        try CLI.run("init", store, "--role", "portal")
        let before = try CLI.run("--store", store, "--json", "stats")
        let after = try CLI.run("stats", "--store", store, "--json")
        let env = try CLI.run(["stats", "--json"], environment: ["SATCHEL_STORE": store])
        for result in [before, after, env] {
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.json["role"] as? String == "portal")
            for key in ["objects", "bytes", "threads", "drafts", "replica"] { #expect(result.json[key] != nil) }
        }
    }

    @Test func objectPlumbingRoundTripAndFsck() throws {
        let scratch = Scratch()
        let store = scratch.path + "/s"
        try CLI.run("init", store, "--role", "workstation")
        let input = scratch.file("note.txt", String(repeating: "lab results are ready. ", count: 500))
        let put = try CLI.run("object", "put", input, "--store", store, "--json")
        #expect(put.status == 0, "\(put.stderr)")
        let id = try #require((put.json["objects"] as? [String])?.first)
        let out = scratch.path + "/back.txt"
        #expect(try CLI.run("object", "get", id, "-o", out, "--store", store).status == 0)
        #expect(FileManager.default.contents(atPath: out) == FileManager.default.contents(atPath: input))
        let fsck = try CLI.run("fsck", "--store", store, "--json")
        #expect(fsck.status == 0)
        #expect(fsck.json["objects"] as? Int == 1)
        #expect((fsck.json["problems"] as? [Any])?.isEmpty == true)
        // Damage it: fsck exits 1 and names the object.
        let hex = String(id.dropFirst(7))
        let path = store + "/objects/" + hex.prefix(2) + "/" + hex.dropFirst(2)
        var bytes = try #require(FileManager.default.contents(atPath: path))
        bytes[bytes.count / 2] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: path))
        let damaged = try CLI.run("fsck", "--store", store, "--json")
        #expect(damaged.status == 1)
        let problems = try #require(damaged.json["problems"] as? [[String: String]])
        #expect(problems.first?["object"] == id)
        let get = try CLI.run("object", "get", id, "-o", scratch.path + "/bad.txt", "--store", store)
        #expect(get.status == 65)
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/bad.txt"))
    }

    @Test func gcReportsAndKeepsRecentObjects() throws {
        let scratch = Scratch()
        let store = scratch.path + "/s"
        try CLI.run("init", store, "--role", "workstation")
        let input = scratch.file("a.txt", "unreferenced but recent")
        try CLI.run("object", "put", input, "--store", store)
        let gc = try CLI.run("gc", "--store", store, "--json")
        #expect(gc.status == 0, "\(gc.stderr)")
        #expect(gc.json["keptYoung"] as? Int == 1)
        #expect(try CLI.run("stats", "--store", store, "--json").json["objects"] as? Int == 1)
    }
}

@Suite struct InitPathTests {
    @Test func initCreatesMissingParentDirectories() throws {
        let scratch = Scratch()
        let store = scratch.path + "/clinic/stores/laptop"
        let result = try CLI.run("init", store, "--role", "workstation", "--json")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try CLI.run("fsck", "--store", store).status == 0)
    }
}

@Suite struct HelpTests {
    @Test(arguments: [["--help"], ["compose", "--help"], ["init", "--help"], ["bundle", "create", "--help"],
                      ["backup", "restore", "--help"], ["thread", "show", "--help"], ["sync", "--help"], ["help", "demo"]])
    func helpPrintsUsageAndExamplesAndExitsZero(_ arguments: [String]) throws {
        let result = try CLI.run(arguments)
        #expect(result.status == 0, "\(arguments): \(result.stderr)")
        #expect(result.stdout.contains("USAGE"), "\(arguments)")
        #expect(result.stderr.isEmpty, "\(arguments): \(result.stderr)")
    }

    @Test func everyLeafCommandHelpShowsAnExample() throws {
        for command in [["init"], ["compose"], ["reply"], ["thread", "close"], ["bundle", "create"], ["sync"],
                        ["backup", "create"], ["fsck"], ["gc"], ["demo"], ["directory", "import"]] {
            let result = try CLI.run(command + ["--help"])
            #expect(result.stdout.contains("Example"), "\(command) --help has no example")
        }
    }
}

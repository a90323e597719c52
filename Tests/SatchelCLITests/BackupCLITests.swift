import Foundation
import SatchelTestSupport
import Testing

/// `satchel backup create | verify | restore` through the binary: JSON keys, exit codes, and a
/// refused restore leaves nothing behind.
@Suite struct BackupCLITests {
    @Test func createVerifyRestoreAndRefusals() throws {
        let scratch = Scratch()
        let store = scratch.path + "/laptop"
        try CLI.run("init", store, "--role", "workstation")
        let directory = SourceTree.sampleDirectory
        #expect(try CLI.run("directory", "import", directory, "--store", store).status == 0)
        #expect(try CLI.run("compose", "--as", "s1", "--patient", "p1", "--subject", "Labs", "--body", "Ready", "--send",
                            "--store", store).status == 0)
        let passphrase = scratch.file("pass.txt", "correct horse battery staple")
        let archive = scratch.path + "/laptop.backup"
        let created = try CLI.run("backup", "create", "-o", archive, "--passphrase-file", passphrase, "--store", store, "--json")
        #expect(created.status == 0, "\(created.stderr)")
        for key in ["backup", "objects", "bytes", "incremental"] { #expect(created.json[key] != nil, "missing \(key)") }
        #expect(created.json["incremental"] as? Bool == false)
        // An archive is never overwritten.
        #expect(try CLI.run("backup", "create", "-o", archive, "--store", store).status == 73)
        #expect(try CLI.run("backup", "verify", archive, "--passphrase-file", passphrase).status == 0)
        // Wrong passphrase: refused, nothing restored.
        let wrong = scratch.file("wrong.txt", "not the passphrase")
        let target = scratch.path + "/restored"
        #expect(try CLI.run("backup", "restore", archive, target, "--passphrase-file", wrong).status == 77)
        #expect(!FileManager.default.fileExists(atPath: target))
        // Damage: verify reports it (exit 1), restore refuses it (65) and leaves nothing.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
        bytes[bytes.count / 2] ^= 0x20
        let damaged = scratch.path + "/damaged.backup"
        try bytes.write(to: URL(fileURLWithPath: damaged))
        #expect(try CLI.run("backup", "verify", damaged, "--passphrase-file", passphrase).status == 1)
        #expect(try CLI.run("backup", "restore", damaged, target, "--passphrase-file", passphrase).status == 65)
        #expect(!FileManager.default.fileExists(atPath: target))
        // The real restore: new replica, same threads.
        let restored = try CLI.run("backup", "restore", archive, target, "--passphrase-file", passphrase, "--json")
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(restored.json["store"] as? String != nil)
        let oldReplica = try CLI.run("stats", "--store", store, "--json").json["replica"] as? String
        #expect(restored.json["replica"] as? String != oldReplica)
        let before = try CLI.run("thread", "list", "--store", store, "--json").json["threads"] as? [[String: Any]]
        let after = try CLI.run("thread", "list", "--store", target, "--json").json["threads"] as? [[String: Any]]
        #expect(before?.map { $0["thread"] as? String } == after?.map { $0["thread"] as? String })
        // A non-empty target is refused.
        #expect(try CLI.run("backup", "restore", archive, target, "--passphrase-file", passphrase).status == 73)
    }
}

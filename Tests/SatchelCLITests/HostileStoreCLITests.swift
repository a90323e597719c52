import Foundation
import SatchelManifest
import SatchelMessaging
@testable import SatchelStore
import SatchelTestSupport
import Testing

/// Issue #12, store and disk rows, through the real `satchel` binary: crafted files on disk
/// give a clear error and the right exit code, never a trap, a hang or a deletion.
@Suite struct HostileStoreCLITests {
    static let fixture = SourceTree.sampleDirectory

    /// A workstation with one sent message carrying an attachment; returns store, thread ID.
    func clinic(_ scratch: Scratch) throws -> (store: String, thread: String) {
        let store = scratch.path + "/ws"
        #expect(try CLI.run("init", store, "--role", "workstation").status == 0)
        #expect(try CLI.run("directory", "import", Self.fixture, "--store", store).status == 0)
        let attachment = scratch.file("labs.pdf", String(repeating: "%PDF lab values ", count: 400))
        let sent = try CLI.run("compose", "--store", store, "--as", "s1", "--to", "u1", "--subject", "Results",
                               "--body", "See attached.", "--attach", attachment, "--send", "--json")
        #expect(sent.status == 0, "\(sent.stderr)")
        let thread = ((sent.json["threads"] as? [[String: Any]])?.first?["thread"] as? String) ?? ""
        return (store, thread)
    }

    func age(_ root: String, by seconds: Double) throws {
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let rel = enumerator?.nextObject() as? String {
            try? Sys.setModified(root + "/" + rel, secondsSinceEpoch: Sys.now() - seconds)
        }
    }

    // Row 2
    @Test func gcStopsOnADamagedMessageManifestAndKeepsBodyAndAttachment() throws {
        let scratch = Scratch()
        let (store, thread) = try clinic(scratch)
        let repository = try Repository.open(at: store)
        let messageObject = try repository.thread(thread).thread.messages[0].object
        let message = try repository.load(MessageManifest.self, messageObject)
        let body = message.body.object
        let attachment = message.attachments[0].object
        try age(store, by: 30 * 86400)
        let path = repository.store.loose.path(of: messageObject)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0x10  // inside the deflate data (the last byte's padding bits carry nothing)
        try bytes.write(to: URL(fileURLWithPath: path))

        let gc = try CLI.run("gc", "--store", store, "--grace-hours", "0")
        #expect(gc.status == 65, "\(gc.stderr)")
        #expect(gc.stderr.contains(messageObject.description))
        for id in [body, attachment] {
            #expect(try CLI.run("object", "info", id.description, "--store", store).status == 0)
        }
        let fsck = try CLI.run("fsck", "--store", store)
        #expect(fsck.status == 1)
        #expect(fsck.stdout.contains(messageObject.description))
    }

    // Row 3
    @Test func packIndexOffsetsOverTwoToThe63DoNotTrap() throws {
        let scratch = Scratch()
        let (store, _) = try clinic(scratch)
        let objects = try ObjectStore(root: store)
        let batch = try objects.batch()
        _ = try batch.put(.blob, Array("a packed blob no other object holds".utf8))
        try batch.commit(layout: .pack)
        objects.packSet.refresh()
        let pack = try #require(objects.packSet.packs.first)
        var entries = pack.index.allEntries
        entries[0].offset = UInt64(1) << 63
        entries[0].size = UInt64.max
        try FileManager.default.removeItem(atPath: pack.indexPath)
        try Data(PackIndex.encode(entries: entries, packChecksum: pack.index.packChecksum))
            .write(to: URL(fileURLWithPath: pack.indexPath))

        let fsck = try CLI.run("fsck", "--store", store, "--json")
        #expect(fsck.status == 1, "\(fsck.stderr)")
        #expect(fsck.stdout.contains("pack-index"))
        #expect(try CLI.run("thread", "list", "--store", store).status == 0)
        #expect(try CLI.run("gc", "--store", store).status == 65)
    }

    @Test func changeLogAtTheLastSequenceFailsComposeCleanlyAndFsckReportsIt() throws {
        let scratch = Scratch()
        let (store, _) = try clinic(scratch)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: store + "/changes.log"))
        try log.seekToEnd()
        try log.write(contentsOf: Data("\(UInt64.max) threads/T-x sha256:\(String(repeating: "a", count: 64))\n".utf8))
        try log.close()
        let before = scratch.snapshot(store + "/refs")
        let compose = try CLI.run("compose", "--store", store, "--as", "s1", "--to", "u1", "--subject", "Again",
                                  "--body", "Hello", "--send")
        #expect(compose.status == 65, "\(compose.stderr)")
        #expect(compose.stderr.contains("change log"))
        #expect(scratch.snapshot(store + "/refs") == before)
        let fsck = try CLI.run("fsck", "--store", store)
        #expect(fsck.status == 1)
        #expect(fsck.stdout.contains("change-log"))
    }

    // Row 11 and #11: exports never overwrite, in the library.
    @Test func objectAndAttachmentGetNeverOverwriteAFileOrFollowASymlink() throws {
        let scratch = Scratch()
        let (store, thread) = try clinic(scratch)
        let repository = try Repository.open(at: store)
        let messageObject = try repository.thread(thread).thread.messages[0].object
        let existing = scratch.file("existing.txt", "keep me")
        let target = scratch.file("target.txt", "keep me too")
        let link = scratch.path + "/link.txt"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let dangling = scratch.path + "/dangling.txt"
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: scratch.path + "/nowhere.txt")
        for output in [existing, link, dangling] {
            let object = try CLI.run("object", "get", messageObject.description, "-o", output, "--store", store)
            #expect(object.status == 73, "\(object.stderr)")
            let message = try CLI.run("thread", "show", thread, "--store", store, "--json")
            let messageID = ((message.json["messages"] as? [[String: Any]])?.first?["message"] as? String) ?? ""
            let attachment = try CLI.run("attachment", "get", thread, messageID, "labs.pdf", "-o", output, "--store", store)
            #expect(attachment.status == 73, "\(attachment.stderr)")
            // The commands that had their own check before it moved into the library.
            let body = try CLI.run("body", "get", thread, messageID, "-o", output, "--store", store)
            #expect(body.status == 73, "\(body.stderr)")
            let bundle = try CLI.run("bundle", "create", "--for", "r0123456789abcdef0123", "--role", "portal", "-o", output, "--store", store)
            #expect(bundle.status == 73, "\(bundle.stderr)")
        }
        let onAFile = try CLI.run("init", existing, "--role", "workstation")
        #expect(onAFile.status == 73 && onAFile.stderr.contains("not a directory"), "\(onAFile.stderr)")
        #expect(try String(contentsOfFile: existing, encoding: .utf8) == "keep me")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep me too")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/nowhere.txt"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).allSatisfy { !$0.contains("satchel-tmp") })
        // And the library itself refuses.
        #expect { try repository.store.export(messageObject, to: existing) } throws: { error in
            (error as? StoreError)?.code == .exists
        }
    }

    // Row 10
    @Test func composeReadsOnlyRegularFilesAndLimitsBodies() throws {
        let scratch = Scratch()
        let (store, _) = try clinic(scratch)
        let fifo = scratch.path + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let directory = scratch.path + "/folder"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let before = scratch.snapshot(store)
        let started = Date()
        for path in [fifo, directory] {
            for flags in [["--body", "Hi", "--attach", path], ["--body-file", path]] {
                let result = try CLI.run(["compose", "--store", store, "--as", "s1", "--to", "u1", "--subject", "S"] + flags + ["--send"])
                #expect(result.status == 65, "\(flags): \(result.stderr)")
                #expect(result.stderr.contains(path), "\(result.stderr)")
            }
        }
        #expect(Date().timeIntervalSince(started) < 30)
        // A rich body over 16 MiB and a plain body over the 256 MiB view limit: refused unread.
        let rich = scratch.path + "/rich.html"
        let plain = scratch.path + "/plain.txt"
        _ = FileManager.default.createFile(atPath: rich, contents: nil)
        _ = FileManager.default.createFile(atPath: plain, contents: nil)
        #expect(truncate(rich, off_t(17 << 20)) == 0)
        #expect(truncate(plain, off_t(257 << 20)) == 0)
        let richResult = try CLI.run("compose", "--store", store, "--as", "s1", "--to", "u1", "--subject", "S",
                                     "--rich", "--body-file", rich, "--send")
        #expect(richResult.status == 65 && richResult.stderr.contains("16 MiB"), "\(richResult.stderr)")
        let plainResult = try CLI.run("compose", "--store", store, "--as", "s1", "--to", "u1", "--subject", "S",
                                      "--body-file", plain, "--send")
        #expect(plainResult.status == 65 && plainResult.stderr.contains("256 MiB"), "\(plainResult.stderr)")
        #expect(scratch.snapshot(store) == before)
    }

    @Test func temporaryFilesOfAKilledProcessAreRemovedOnTheNextOpen() throws {
        let scratch = Scratch()
        let (store, _) = try clinic(scratch)
        let stale = store + "/tmp/rich-old.tmp"
        let fresh = store + "/tmp/rich-live.tmp"
        let lock = store + "/tmp/other.lock"
        for path in [stale, fresh, lock] { _ = FileManager.default.createFile(atPath: path, contents: Data(count: 1000)) }
        try Sys.setModified(stale, secondsSinceEpoch: Sys.now() - 2 * 3600)
        try Sys.setModified(lock, secondsSinceEpoch: Sys.now() - 2 * 3600)
        #expect(try CLI.run("stats", "--store", store).status == 0)
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: fresh))
        #expect(FileManager.default.fileExists(atPath: lock))
    }

    // Row 12
    @Test func damagedLooseObjectIsDamagedNotMissing() throws {
        let scratch = Scratch()
        let (store, thread) = try clinic(scratch)
        let repository = try Repository.open(at: store)
        let id = try repository.thread(thread).head
        let path = repository.store.loose.path(of: id)
        try FileManager.default.removeItem(atPath: path)
        try Data([0x78, 0x9c, 0x01]).write(to: URL(fileURLWithPath: path))
        for command in [["object", "info"], ["object", "get"]] {
            var args = command + [id.description, "--store", store]
            if command[1] == "get" { args += ["-o", scratch.path + "/out"] }
            let result = try CLI.run(args)
            #expect(result.status == 65, "\(command): \(result.status) \(result.stderr)")
        }
        #expect(try CLI.run("thread", "show", thread, "--store", store).status == 65)
    }

    @Test func symlinkedRefDirectoryIsRefusedAndReportedByFsck() throws {
        let scratch = Scratch()
        let store = scratch.path + "/ws"
        #expect(try CLI.run("init", store, "--role", "workstation").status == 0)
        #expect(try CLI.run("directory", "import", Self.fixture, "--store", store).status == 0)
        let outside = scratch.path + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: store + "/refs/threads", withDestinationPath: outside)
        let compose = try CLI.run("compose", "--store", store, "--as", "s1", "--to", "u1", "--subject", "S",
                                  "--body", "B", "--send")
        #expect(compose.status == 65, "\(compose.stderr)")
        #expect(compose.stderr.contains("refs/threads"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
        let fsck = try CLI.run("fsck", "--store", store)
        #expect(fsck.status == 1)
        #expect(fsck.stdout.contains("symlink") && fsck.stdout.contains("refs/threads"))
    }
}

import Foundation
import SatchelBackup
import SatchelManifest
import SatchelMessaging
import SatchelStore
import SatchelSync

/// Writes the seed corpora under `root/<target>/` (fixtures/fuzz in the repository) from real
/// objects the library produces: a world like the harnesses' (fixed replica IDs), a second
/// workstation that sends text, rich and attachment messages, a local sync, bundles, backups.
/// The XML fixtures of fixtures/xml are seeds of the manifest target too (Tools/Fuzz/run.sh
/// adds them); only manifests they lack are written here.
public enum FuzzSeeds {
    @discardableResult
    public static func write(to root: String) throws -> [String: Int] {
        let fm = FileManager.default
        let world = try World(scratch: World.makeScratch("seeds"))
        defer { world.remove() }
        var counts: [String: Int] = [:]
        func put(_ target: FuzzTarget, _ name: String, _ bytes: [UInt8]) throws {
            let directory = root + "/" + target.rawValue
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try World.write(bytes, to: directory + "/" + name)
            counts[target.rawValue, default: 0] += 1
        }

        // A second workstation with more kinds of content.
        let other = try Repository.create(at: world.scratch + "/other", role: .workstation)
        _ = try other.importDirectory(try World.fixtureBytes("xml/valid/directory.xml"))
        var rich = ComposeRequest(author: "s1")
        rich.patient = "p1"
        rich.subject = "Plan"
        rich.rich = true
        rich.body = .text("<p>Take <b>two</b> <a href=\"https://example.org/x\">tablets</a></p><ul><li>daily</li></ul>")
        _ = try other.send(rich)
        let attachment = world.scratch + "/note.txt"
        try World.write(Array("attachment text\n".utf8), to: attachment)
        var withFile = ComposeRequest(author: "s1")
        withFile.patient = "p1"
        withFile.bccLists = ["nursing"]
        withFile.subject = "Your letter"
        withFile.body = .text("See the file.")
        withFile.attachments = [.file(path: attachment, name: "note.txt")]
        _ = try other.send(withFile)

        // bundle: other → workstation (full), whole file and body form.
        let bundlePath = world.scratch + "/seed.bundle"
        _ = try SyncEngine(other).createBundle(for: World.workstationReplica, targetRole: .workstation, to: bundlePath)
        let bundle = Array(try Data(contentsOf: URL(fileURLWithPath: bundlePath)))
        try put(.bundle, "staff-full.bundle", bundle)
        try put(.bundle, "staff-full.body", try BundleHarness.bodyForm(ofBundle: bundle))
        // A large, very repetitive text attachment (packed, zlib-encoded: past a batch's 4 MiB)
        // travels as its store's zlib entry (capability zlib-blobs-1); body form, full bundle.
        let notes = world.scratch + "/notes.txt"
        try World.write(Array(String(repeating: "Results reviewed; follow-up as planned.\n", count: 120_000).utf8), to: notes)
        var large = ComposeRequest(author: "s1")
        large.patient = "p1"
        large.subject = "Your notes"
        large.body = .text("Attached.")
        large.attachments = [.file(path: notes, name: "notes.txt")]
        _ = try other.send(large)
        let zlibPath = world.scratch + "/zlib.bundle"
        _ = try SyncEngine(other).createBundle(for: World.workstationReplica, targetRole: .workstation, to: zlibPath, full: true)
        try put(.bundle, "staff-zlib-blob.body", try BundleHarness.bodyForm(ofBundle: Array(try Data(contentsOf: URL(fileURLWithPath: zlibPath)))))
        // portal → workstation after the workstation's thread reached the portal.
        _ = try SyncEngine(world.workstation).sync(with: world.portal)
        let fromPortal = world.scratch + "/portal.bundle"
        _ = try SyncEngine(world.portal).createBundle(for: World.workstationReplica, targetRole: .workstation,
                                                      to: fromPortal, full: true)
        try put(.bundle, "portal-full.body",
                try BundleHarness.bodyForm(ofBundle: Array(try Data(contentsOf: URL(fileURLWithPath: fromPortal)))))

        // manifest: every manifest object of the three stores that fixtures/xml lacks.
        var seen = Set<ObjectID>()
        for repository in [world.workstation, world.portal, other] {
            for id in try repository.store.looseObjectIDs() where seen.insert(id).inserted {
                let (kind, bytes) = try repository.store.read(id)
                guard kind == .manifest, let manifest = try? AnyManifest.decode(bytes, trust: .trusted) else { continue }
                guard ![Vocabulary.store, .directory].contains(manifest.vocabulary) else { continue }
                try put(.manifest, "\(manifest.vocabulary)-\(id.description.suffix(12)).xml", bytes)
            }
        }

        // richtext
        let html = [
            "<p>Hello <b>Rosa</b>, your <i>results</i> are <u>ready</u>.</p>",
            "<h1>Plan</h1><ol><li>one</li><li>two<ul><li>2a</li></ul></li></ol><blockquote>quoted</blockquote>",
            "<table><tr><th>Test</th><td align=\"right\">4.2</td></tr></table><br><s>old</s>",
            "<a href=\"https://example.org/?a=1&amp;b=2\" title=\"t\">link</a> <a href=\"javascript:alert(1)\">bad</a> <a href=\"mailto:a@example.org\">mail</a>",
            "<script>alert(1)</script><style>p{}</style><iframe src=x></iframe><form><input></form>text",
            "<p onclick=\"x()\" style=\"color:red\">attrs<!-- comment --><![CDATA[cdata]]><?pi x?></p>",
            "<div><span>unknown &amp; unwrapped &lt;tags&gt; &copy; &#x1F600; &#0;</span></div>",
            "<p>unclosed <b>bold <i>both</p> trailing</b>",
            "<svg><circle/></svg><math><mi>x</mi></math><object data=x></object><embed src=x>",
            "<html><head><title>t</title></head><body><p dir=\"rtl\" align=\"center\">body</p></body></html>",
        ]
        for (i, text) in html.enumerated() { try put(.richtext, "html-\(i).html", Array(text.utf8)) }

        // packindex: the index of the harness's fixed pack.
        let (_, indexPath) = try PackIndexHarness.buildPack(in: world.scratch + "/packstore")
        try put(.packindex, "fixed.idx", Array(try Data(contentsOf: URL(fileURLWithPath: indexPath))))

        // changelog: the stores' real logs and a few hand-made shapes.
        try put(.changelog, "workstation.log", Array(try Data(contentsOf: URL(fileURLWithPath: world.workstation.store.refs.changeLog.path))))
        try put(.changelog, "portal.log", Array(try Data(contentsOf: URL(fileURLWithPath: world.portal.store.refs.changeLog.path))))
        let a = ObjectID.compute(kind: .blob, payload: [1]).description
        let b = ObjectID.compute(kind: .blob, payload: [2]).description
        try put(.changelog, "old-format-and-torn.log", Array("""
            satchel-changes 1 e0123456789abcdef
            1 threads/T-1 \(a)
            2 threads/T-1 \(b) \(a)
            3 directory - -
            4 threads/T-2 \(a) -
            5 threads/T-
            """.utf8))

        // backup: a full archive and an incremental one on top of it.
        let full = world.scratch + "/full.satchel-backup"
        _ = try Backup.create(world.workstation, to: full)
        try put(.backup, "full.satchel-backup", Array(try Data(contentsOf: URL(fileURLWithPath: full))))
        var request = ComposeRequest(author: "s1")
        request.patient = "p1"
        request.subject = "Follow-up"
        request.body = .text("One more thing.")
        _ = try world.workstation.send(request)
        let incremental = world.scratch + "/incremental.satchel-backup"
        _ = try Backup.create(world.workstation, to: incremental, options: .init(incrementalFrom: full))
        try put(.backup, "incremental.satchel-backup", Array(try Data(contentsOf: URL(fileURLWithPath: incremental))))

        // http: the sync protocol's requests; @TOKEN@ is the harness's bearer token.
        let push = world.scratch + "/push.bundle"
        _ = try SyncEngine(other).createBundle(for: World.portalReplica, targetRole: .portal, to: push)
        let pushBytes = Array(try Data(contentsOf: URL(fileURLWithPath: push)))
        let auth = "Authorization: Bearer @TOKEN@\r\n"
        let id = ObjectID.compute(kind: .blob, payload: [1]).description
        let ws = World.workstationReplica
        let requests: [(String, [UInt8])] = [
            ("hello", Array("GET /v1/hello HTTP/1.1\r\nHost: p\r\n\(auth)\r\n".utf8)),
            ("have", Array("POST /v1/have HTTP/1.1\r\nHost: p\r\n\(auth)Content-Length: 72\r\n\r\n\(id)\n".utf8)),
            ("have-chunked", Array("POST /v1/have HTTP/1.1\r\nHost: p\r\n\(auth)Transfer-Encoding: chunked\r\n\r\n48\r\n\(id)\n\r\n0\r\n\r\n".utf8)),
            ("offer", Array("POST /v1/offer HTTP/1.1\r\nHost: p\r\n\(auth)Satchel-Replica: \(ws)\r\nSatchel-Role: workstation\r\nContent-Length: 0\r\n\r\n".utf8)),
            ("pull", Array("POST /v1/pull HTTP/1.1\r\nHost: p\r\n\(auth)Satchel-Replica: \(ws)\r\nContent-Length: 72\r\n\r\n\(id)\n".utf8)),
            ("push", Array("POST /v1/push HTTP/1.1\r\nHost: p\r\n\(auth)Content-Length: \(pushBytes.count)\r\n\r\n".utf8) + pushBytes),
            ("sync", Array("POST /v1/sync HTTP/1.1\r\nHost: p\r\n\(auth)Content-Length: \(pushBytes.count)\r\n\r\n".utf8) + pushBytes),
            ("two-requests", Array("GET /v1/hello HTTP/1.1\r\nHost: p\r\n\(auth)\r\nGET /v1/hello HTTP/1.1\r\nHost: p\r\n\r\n".utf8)),
        ]
        for (name, bytes) in requests { try put(.http, name + ".http", bytes) }
        return counts
    }
}

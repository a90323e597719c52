import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import Testing

/// Hostile attachment names are neutralized; duplicates get " (2)".
@Suite struct AttachmentNameTests {
    @Test(arguments: [
        ("../../x", "x"),
        ("/etc/passwd", "passwd"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("..", "attachment"),
        ("", "attachment"),
        ("   ", "attachment"),
        (".bashrc", "bashrc"),
        ("report.pdf.", "report.pdf"),
        ("line\nbreak.pdf", "linebreak.pdf"),
        ("tab\there\r.txt", "tabhere.txt"),
        ("nul\u{0}byte.pdf", "nulbyte.pdf"),
        ("bell\u{7}\u{7F}\u{85}.pdf", "bell.pdf"),
        ("invoice\u{202E}fdp.exe", "invoicefdp.exe"),
        ("invoice\u{202D}x.pdf", "invoicex.pdf"),
        ("invoice\u{2067}fdp.exe\u{2069}", "invoicefdp.exe"),   // right-to-left isolate
        ("a\u{202B}b\u{202C}c\u{200F}d\u{200E}e\u{061C}.pdf", "abcde.pdf"),
        ("zero\u{200B}width\u{FEFF}.pdf", "zerowidth.pdf"),
        ("sep\u{2028}arator\u{2029}.pdf", "separator.pdf"),
        ("Résumé 2024.pdf", "Résumé 2024.pdf"),
    ])
    func hostileNamesAreNeutralized(raw: String, clean: String) {
        #expect(AttachmentNames.sanitize(raw) == clean)
    }

    @Test func longNamesAreCapped() {
        let name = AttachmentNames.sanitize(String(repeating: "é", count: 300) + ".pdf")
        #expect(name.utf8.count <= AttachmentNames.maxBytes)
        #expect(name.hasSuffix(".pdf"))  // #12: the extension survives the cut
        let long = AttachmentNames.sanitize(String(repeating: "lab report ", count: 40) + "final.docx")
        #expect(long.hasSuffix(" final.docx") == false && long.hasSuffix(".docx") && long.utf8.count <= AttachmentNames.maxBytes)
        #expect(AttachmentNames.mediaType(for: long) == AttachmentNames.mediaType(for: "x.docx"))
        // An "extension" too long to be one is cut like the rest of the name.
        let odd = AttachmentNames.sanitize("a." + String(repeating: "x", count: 300))
        #expect(odd.utf8.count <= AttachmentNames.maxBytes && odd.hasPrefix("a."))
    }

    @Test func hostileNamesThroughComposeAreStoredNeutralizedAndDuplicatesNumbered() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let file = clinic.file("content.bin", "content")
        var req = request(to: ["u1"])
        req.attachments = [
            .file(path: file, name: "../../x"),
            .file(path: file, name: "/etc/passwd"),
            .file(path: file, name: "evil\n\u{202E}fdp.exe"),
            .file(path: file, name: "report.pdf"),
            .file(path: file, name: "report.pdf"),
            .file(path: file, name: "sub/report.pdf"),
            .file(path: clinic.file("scan.pdf", "a")),
            .file(path: file, name: "scan.pdf"),
        ]
        let sent = try onlyThread(try ws.send(req))
        let names = try ws.threadView(sent.thread).messages[0].attachments.map(\.name)
        #expect(names == ["x", "passwd", "evilfdp.exe", "report.pdf", "report (2).pdf", "report (3).pdf", "scan.pdf", "scan (2).pdf"])
        // Each can be fetched by its clean name and written only where the caller says.
        for name in names {
            let out = clinic.root + "/out-" + UUID().uuidString
            try ws.exportAttachment(try ws.attachment(thread: sent.thread, message: sent.message, name: name), to: out)
            #expect(FileManager.default.fileExists(atPath: out))
        }
        #expect(!FileManager.default.fileExists(atPath: clinic.root + "/x"))
    }

    @Test func filePathsContributeOnlyTheirLastComponent() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        try FileManager.default.createDirectory(atPath: clinic.root + "/a/b", withIntermediateDirectories: true)
        let path = clinic.file("a/b/chart.PDF", "x")
        var req = request(to: ["u1"])
        req.attachments = [.file(path: clinic.root + "/a/b/../b/chart.PDF"), .file(path: path)]
        let attachments = try ws.threadView(try onlyThread(try ws.send(req)).thread).messages[0].attachments
        #expect(attachments.map(\.name) == ["chart.PDF", "chart (2).PDF"])
        #expect(attachments.map(\.mediaType) == ["application/pdf", "application/pdf"])
    }

    @Test func unknownExtensionsAreOctetStream() {
        #expect(AttachmentNames.mediaType(for: "a.weird") == "application/octet-stream")
        #expect(AttachmentNames.mediaType(for: "noext") == "application/octet-stream")
        #expect(AttachmentNames.mediaType(for: "x.JPG") == "image/jpeg")
    }
}

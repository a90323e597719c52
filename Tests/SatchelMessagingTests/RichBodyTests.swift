import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import Testing

/// Rich-text bodies (`--rich`) go through the allow-list sanitizer everywhere a body can enter.
///
/// These need the real sanitizer (SatchelManifest/RichText); with the temporary stub every
/// rich body is refused and these tests fail.
@Suite struct RichBodyTests {
    static let hostile = "<b>ok</b><script>x</script>"

    private func body(_ repository: Repository, _ thread: String) throws -> MessageView {
        try #require(try repository.threadView(thread).messages.last)
    }

    @Test func richTextIsSanitizedByAllowList() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        var req = request(to: ["u1"], body: Self.hostile)
        req.rich = true
        let message = try body(ws, try onlyThread(try ws.send(req)).thread)
        #expect(message.bodyFormat == .rich)
        #expect(message.body.contains("<b>ok</b>"))
        #expect(!message.body.contains("script") && !message.body.contains("x</"))
    }

    @Test func richBodyFileIsSanitizedAsItStreams() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        var req = request(to: ["u1"])
        req.body = .file(path: clinic.file("body.html", Self.hostile + #"<a href="javascript:alert(1)" onclick="steal()">x</a><i>fine</i>"#))
        req.rich = true
        let message = try body(ws, try onlyThread(try ws.send(req)).thread)
        #expect(message.bodyFormat == .rich)
        #expect(message.body.contains("<b>ok</b>") && message.body.contains("<i>fine</i>"))
        for bad in ["script", "javascript:", "onclick", "steal"] { #expect(!message.body.contains(bad), "\(bad)") }
    }

    @Test func richStaffReplyIsSanitized() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let thread = try onlyThread(try ws.send(request(to: ["u1"]))).thread
        try ws.reply(thread: thread, as: "s1", body: .text(Self.hostile), rich: true)
        let message = try body(ws, thread)
        #expect(message.bodyFormat == .rich && message.body.contains("<b>ok</b>") && !message.body.contains("script"))
    }

    /// A plain draft body switched to rich (`draft update --rich` without a new body) must be
    /// sanitized, not relabelled.
    @Test func draftSwitchedToRichIsSanitizedBeforeItIsSent() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        let id = try ws.saveDraft(request(to: ["u1"], body: Self.hostile))
        var update = DraftUpdate()
        update.rich = true
        try ws.updateDraft(id, as: "s1", update)
        let draftBody = try #require(try ws.draft(id, as: "s1").draft.body)
        #expect(draftBody.format == .rich)
        let stored = String(decoding: try ws.store.read(draftBody.object).bytes, as: UTF8.self)
        #expect(stored.contains("<b>ok</b>") && !stored.contains("script"))
        let message = try body(ws, try onlyThread(try ws.sendDraft(id, as: "s1")).thread)
        #expect(message.bodyFormat == .rich && !message.body.contains("script"))
    }

    @Test func richDraftBodyIsSanitizedWhenSaved() throws {
        let clinic = Clinic()
        defer { withExtendedLifetime(clinic) {} }
        let ws = try clinic.workstation()
        var req = request(to: ["u1"], body: Self.hostile)
        req.rich = true
        let id = try ws.saveDraft(req)
        let draftBody = try #require(try ws.draft(id, as: "s1").draft.body)
        #expect(draftBody.format == .rich)
        #expect(!String(decoding: try ws.store.read(draftBody.object).bytes, as: UTF8.self).contains("script"))
    }
}

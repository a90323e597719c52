import Foundation
import SatchelManifest

/// Rules for notification templates, checked when a directory is imported (a template that
/// breaks one refuses the whole import: exit 65 naming the template, store unchanged).
///
/// A notification template is the same text for every recipient and travels over email and
/// SMS, outside the portal. So it may hold only:
/// - the known placeholders (``placeholders``: `{{link}}`), each exactly, `{{link}}` required;
/// - at most ``maximumLength`` characters (``maximumSMSLength`` for SMS);
/// - no directory data: no patient, portal user or staff name, no message template subject,
///   no email address or cellphone number of anyone in the directory (compared ignoring case,
///   as whole words: a name inside a longer word is not a hit).
public enum NotificationTemplateRules {
    /// Placeholders a template may use.
    public static let placeholders: Set<String> = ["link"]
    /// Longest template text (characters, before rendering), email.
    public static let maximumLength = 1000
    /// Longest SMS template text: two SMS segments with room for the link.
    public static let maximumSMSLength = 240

    /// Throws `.invalidInput` naming the first template that breaks a rule (no PHI in the message).
    public static func check(_ directory: Directory) throws {
        let templates = directory.settings.notificationTemplates
        guard !templates.isEmpty else { return }
        for template in templates { try checkShape(template) }
        // Directory data, lowercased once (a large directory has many entries).
        var forbidden: [(what: String, text: String)] = []
        func add(_ what: String, _ value: String?) {
            guard let value = value?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return }
            forbidden.append((what, value.lowercased()))
        }
        for patient in directory.patients {
            add("a patient name", patient.name)
            add("a contact detail", patient.email)
            add("a contact detail", patient.cell)
        }
        for user in directory.portalUsers {
            add("a portal user name", user.name)
            add("a contact detail", user.email)
            add("a contact detail", user.cell)
        }
        for member in directory.staff {
            add("a staff name", member.name)
            add("a contact detail", member.email)
            add("a contact detail", member.cell)
        }
        for message in directory.settings.messageTemplates { add("a message template subject", message.subject) }
        for template in templates {
            let text = template.text.lowercased()
            if let hit = forbidden.first(where: { containsWord(text, $0.text) }) {
                throw refusal(template, "contains directory data (\(hit.what)); notifications carry a link and no PHI")
            }
        }
    }

    /// Whether `needle` occurs in `text` not inside a longer word (a staff member called "Al"
    /// does not forbid "Sign in at…", but "Dear Al," is refused).
    static func containsWord(_ text: String, _ needle: String) -> Bool {
        var searchStart = text.startIndex
        while let range = text.range(of: needle, range: searchStart..<text.endIndex) {
            let before = range.lowerBound == text.startIndex ? nil : text[text.index(before: range.lowerBound)]
            let after = range.upperBound == text.endIndex ? nil : text[range.upperBound]
            let isWordCharacter = { (c: Character?) in c.map { $0.isLetter || $0.isNumber } ?? false }
            if !isWordCharacter(before) && !isWordCharacter(after) { return true }
            searchStart = text.index(after: range.lowerBound)
        }
        return false
    }

    static func checkShape(_ template: Directory.NotificationTemplate) throws {
        let limit = template.channel == .sms ? maximumSMSLength : maximumLength
        guard template.text.count <= limit else {
            throw refusal(template, "is \(template.text.count) characters long; the limit for \(template.channel.rawValue) is \(limit)")
        }
        var rest = Substring(template.text)
        var hasLink = false
        while let open = rest.range(of: "{{") {
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw refusal(template, "has an unclosed {{")
            }
            let name = String(rest[open.upperBound..<close.lowerBound])
            guard placeholders.contains(name) else {
                throw refusal(template, "uses an unknown placeholder (only {{link}} is known)")
            }
            hasLink = hasLink || name == "link"
            rest = rest[close.upperBound...]
        }
        if rest.contains("}}") { throw refusal(template, "has a stray }}") }
        guard hasLink else { throw refusal(template, "has no {{link}}; a notification must carry the portal link") }
    }

    static func refusal(_ template: Directory.NotificationTemplate, _ reason: String) -> MessagingError {
        MessagingError(.invalidInput, "notification template \(template.id) \(reason)")
    }
}

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
        // Directory data. A large directory has hundreds of thousands of entries: a value's
        // first word (cheap to find, no allocation for short ASCII words) must be a word of some
        // template before the full whole-word search runs.
        let texts = templates.map { $0.text.lowercased() }
        var templateKeys = Set<UInt64>()
        for text in texts {
            for word in words(text) { if let key = firstWordKey(word) { templateKeys.insert(key) } }
        }
        func check(_ what: String, _ value: String?) throws {
            guard let value, let key = firstWordKey(value), key == Self.alwaysCheck || templateKeys.contains(key) else { return }
            let needle = value.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            for (template, text) in zip(templates, texts) where containsWord(text, needle) {
                throw refusal(template, "contains directory data (\(what)); notifications carry a link and no PHI")
            }
        }
        for patient in directory.patients {
            try check("a patient name", patient.name)
            try check("a contact detail", patient.email)
            try check("a contact detail", patient.cell)
        }
        for user in directory.portalUsers {
            try check("a portal user name", user.name)
            try check("a contact detail", user.email)
            try check("a contact detail", user.cell)
        }
        for member in directory.staff {
            try check("a staff name", member.name)
            try check("a contact detail", member.email)
            try check("a contact detail", member.cell)
        }
        for message in directory.settings.messageTemplates { try check("a message template subject", message.subject) }
    }

    /// The lowercased words (runs of letters and digits) of `text`.
    static func words(_ text: String) -> Set<String> {
        var result = Set<String>()
        var current = ""
        for c in text.lowercased() {
            if c.isLetter || c.isNumber { current.append(c) } else if !current.isEmpty {
                result.insert(current)
                current = ""
            }
        }
        if !current.isEmpty { result.insert(current) }
        return result
    }

    /// Key of a value that is not plain ASCII: always searched in full.
    static let alwaysCheck = UInt64.max

    /// The first 8 bytes of `value`'s first word, ASCII-lowercased and packed (a prefilter key,
    /// computed without allocating); ``alwaysCheck`` for non-ASCII text; nil when there is no word.
    static func firstWordKey(_ value: String) -> UInt64? {
        var key: UInt64 = 0, count = 0
        for b in value.utf8 {
            if b >= 0x80 { return alwaysCheck }
            let lower = (b >= 0x41 && b <= 0x5A) ? b + 0x20 : b
            let isWord = (lower >= 0x61 && lower <= 0x7A) || (lower >= 0x30 && lower <= 0x39)
            if isWord {
                if count < 8 { key |= UInt64(lower) << (8 * UInt64(count)) }
                count += 1
            } else if count > 0 {
                break
            }
        }
        return count == 0 ? nil : key
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

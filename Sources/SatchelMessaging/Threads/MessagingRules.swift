import SatchelManifest
import SatchelStore

/// The messaging rules on a thread's events, in one place: compose, reply, draft send and bundle
/// apply all judge with these functions, so a message written under the rules is accepted
/// everywhere and a message that breaks them is recognized the same way on every replica.
///
/// A patient's (or representative's) message is judged at its own causal point: in the history
/// its context covers (``ThreadManifest/state(covering:)``), never against the receiver's
/// current state. A reply written after a reopen that the replier had seen is legitimate even if
/// the receiver has not seen the reopen yet.
public enum MessagingRules {
    /// Why an event breaks the rules (nil: it does not).
    public enum Violation: Sendable, Equatable, CustomStringConvertible {
        /// The thread's first message is not from staff.
        case notStartedByClinic(author: String)
        /// A portal user's message carries attachments.
        case patientAttachment(author: String)
        /// A portal user's message was written in a history where the thread was closed.
        case writtenWhileClosed(author: String)
        /// A portal user's message was written in a history where replies were off.
        case writtenWhileRepliesOff(author: String)
        /// A flag event (close, reopen, replies on/off) by a portal user.
        case flagByPortalUser(author: String)
        /// The message manifest does not belong to the thread event that lists it.
        case inconsistent(String)

        public var description: String {
            switch self {
            case .notStartedByClinic(let a): "portal user \(a) started the thread; only the clinic starts threads"
            case .patientAttachment(let a): "portal user \(a) attached files; patients cannot send attachments"
            case .writtenWhileClosed(let a): "portal user \(a) wrote after seeing the thread closed"
            case .writtenWhileRepliesOff(let a): "portal user \(a) wrote after seeing replies turned off"
            case .flagByPortalUser(let a): "portal user \(a) changed a thread flag; only staff may"
            case .inconsistent(let what): what
            }
        }
    }

    /// Judges a portal user writing into `thread` now (its current state): the rule a reply on
    /// this store checks before anything is written.
    public static func mayPortalUserReply(_ thread: ThreadManifest, user: String, attachments: Int) -> Violation? {
        if attachments > 0 { return .patientAttachment(author: user) }
        if thread.status == .closed { return .writtenWhileClosed(author: user) }
        if !thread.allowReplies { return .writtenWhileRepliesOff(author: user) }
        return nil
    }

    /// Judges one message event of `thread` against its manifest: identity first, then, for a
    /// portal user's message, the rules at the message's causal point.
    public static func judge(_ message: MessageManifest, event: ThreadManifest.Event,
                             in thread: ThreadManifest) -> Violation? {
        guard message.id == event.message, message.thread == thread.id else {
            return .inconsistent("thread \(thread.id) lists message \(event.message ?? "?") whose manifest belongs elsewhere")
        }
        if let by = event.by, by != message.author {
            return .inconsistent("thread \(thread.id) names another author for message \(message.id) than its manifest")
        }
        if message.id == thread.firstMessage {
            return message.author.kind == .staff ? nil : .notStartedByClinic(author: message.author.id)
        }
        guard message.author.kind == .portalUser else { return nil }
        if !message.attachments.isEmpty { return .patientAttachment(author: message.author.id) }
        let state = thread.state(covering: message.context)
        if state.status == .closed { return .writtenWhileClosed(author: message.author.id) }
        if !state.allowReplies { return .writtenWhileRepliesOff(author: message.author.id) }
        return nil
    }

    /// Judges a flag event: only staff change flags.
    public static func judge(flag event: ThreadManifest.Event) -> Violation? {
        guard event.kind != .message, event.kind != .read, let by = event.by, by.kind == .portalUser else { return nil }
        return .flagByPortalUser(author: by.id)
    }

    /// Every event of `thread` that breaks a rule, by message ID (messages) or dot description
    /// (flag events). A function of the event set and the event objects: every replica with the
    /// same events quarantines the same ones.
    public static func quarantined(_ thread: ThreadManifest,
                                   message load: (ThreadManifest.Event) throws -> MessageManifest) rethrows -> [Quarantined] {
        var result: [Quarantined] = []
        for event in thread.events {
            if event.kind == .message {
                if let violation = judge(try load(event), event: event, in: thread) {
                    result.append(Quarantined(thread: thread.id, message: event.message ?? "", violation: violation))
                }
            } else if let violation = judge(flag: event), let dot = event.dot {
                result.append(Quarantined(thread: thread.id, message: "\(dot.replica):\(dot.counter)", violation: violation))
            }
        }
        return result
    }
}

/// A message (or flag event) kept for staff but never shown to patients, with the rule it broke.
/// docs/CLI.md: `"quarantined": [{"thread", "message", "reason"}]`.
public struct Quarantined: Sendable, Equatable, Hashable {
    /// The thread ID.
    public var thread: String
    /// The message ID, or `replica:counter` for a flag event.
    public var message: String
    /// The rule it broke, as text.
    public var reason: String

    /// A quarantine for a broken rule, with the violation's description as its reason.
    public init(thread: String, message: String, violation: MessagingRules.Violation) {
        self.init(thread: thread, message: message, reason: violation.description)
    }

    /// A quarantine reported by a peer (its reason as text).
    public init(thread: String, message: String, reason: String) {
        self.thread = thread
        self.message = message
        self.reason = reason
    }
}

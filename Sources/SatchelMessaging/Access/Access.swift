import SatchelManifest

/// The access model, decided in one place and asked by every path (view, list, reply,
/// attachment and body download, notification queueing on send/reply/bundle apply, delivery).
///
/// - Staff (a `<staff>` of the directory) see every thread of the store.
/// - A portal user may use the portal only while they are `active` and their patient exists
///   and has `portalAccess="true"`. Otherwise every path refuses them (`.refused`, exit 77,
///   with the reason) and nothing is queued for them or delivered to them; threads that reach
///   the store for them are kept and become visible again when access returns.
/// - A portal user with access sees the threads of their own patient in which they received or
///   wrote a message (checked per thread by ``Repository/visible(_:to:)``).
/// - Contact details are per person: a notification goes to the recipient's own address; a
///   patient's own portal users (`role="patient"`) fall back to the patient's email/cell field
///   by field; a representative never gets the patient's address. `notify` picks channels.
///
/// Built from a directory (or the part of it a few people need: ContactIndex.swift).
public struct Access: Sendable {
    /// The directory this access model was built from.
    public let directory: Directory
    private let patients: [String: Directory.Patient]
    private let users: [String: Directory.PortalUser]
    private let staff: [String: Directory.Staff]

    /// The access model of `directory`, with its patients, portal users and staff indexed by ID.
    public init(_ directory: Directory) {
        self.directory = directory
        patients = Dictionary(directory.patients.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        users = Dictionary(directory.portalUsers.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        staff = Dictionary(directory.staff.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Who is looking or acting.
    public enum Viewer: Sendable, Equatable {
        case staff(Directory.Staff)
        case portalUser(Directory.PortalUser)
    }

    /// The portal user with this ID, whether or not they have access now; nil when unknown.
    public func portalUser(_ id: String) -> Directory.PortalUser? { users[id] }
    /// The staff member with this ID; nil when unknown.
    public func staffMember(_ id: String) -> Directory.Staff? { staff[id] }
    /// The patient with this ID; nil when unknown.
    public func patient(_ id: String) -> Directory.Patient? { patients[id] }

    /// Why this portal user may not use the portal now; nil when they may.
    public func denial(of user: Directory.PortalUser) -> String? {
        guard user.active else { return "portal user \(user.id) is inactive" }
        guard let patient = patients[user.patient] else { return "patient \(user.patient) of portal user \(user.id) is unknown" }
        guard patient.portalAccess else { return "patient \(patient.id) of portal user \(user.id) has no portal access" }
        return nil
    }

    /// A person by ID, checked for access: staff, or a portal user who may use the portal now
    /// (otherwise `.refused` with the reason). Unknown IDs are `.notFound`.
    public func viewer(_ id: String) throws -> Viewer {
        if let member = staff[id] { return .staff(member) }
        guard let user = users[id] else {
            throw MessagingError.notFound("\(id) is neither a staff member nor a portal user in the directory")
        }
        if let reason = denial(of: user) { throw MessagingError.refused("access refused: \(reason)") }
        return .portalUser(user)
    }

    /// Whether `id` (a portal user or staff member) may be notified now.
    public func mayBeNotified(_ id: String) -> Bool {
        if staff[id] != nil { return true }
        guard let user = users[id] else { return false }
        return denial(of: user) == nil
    }

    /// The addresses a notification to `id` may use, by channel, after the person's `notify`
    /// preference: only that person's own details (and, for a patient's own portal user, the
    /// patient's where their own are absent). Empty for unknown people.
    public func addresses(of id: String) -> [(channel: Directory.NotificationTemplate.Channel, address: String)] {
        let contact: (email: String?, cell: String?, notify: Directory.Notify)
        if let member = staff[id] {
            contact = (member.email, member.cell, member.notify)
        } else if let user = users[id] {
            let own = user.role == .patient ? patients[user.patient] : nil
            contact = (user.email ?? own?.email, user.cell ?? own?.cell, user.notify)
        } else {
            return []
        }
        let (email, cell, notify) = contact
        var result: [(channel: Directory.NotificationTemplate.Channel, address: String)] = []
        if let email, !email.isEmpty, notify.allows(.email) { result.append((.email, email)) }
        if let cell, !cell.isEmpty, notify.allows(.sms) { result.append((.sms, cell)) }
        return result
    }

    /// Why a portal user cannot be sent a portal message now; nil when they can. Access
    /// (``denial(of:)``), and an address of their own to be told at, unless they chose
    /// `notify="none"` (they read on the portal without being told).
    public func recipientIneligibility(_ user: Directory.PortalUser) -> String? {
        if let reason = denial(of: user) { return reason }
        if user.notify != .none, addresses(of: user.id).isEmpty {
            return user.role == .patient
                ? "portal user \(user.id) and patient \(user.patient) have no email or cellphone to notify"
                : "portal user \(user.id) has no email or cellphone of their own to notify"
        }
        return nil
    }
}

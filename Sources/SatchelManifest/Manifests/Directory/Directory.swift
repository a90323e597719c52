/// The clinic directory imported from the EHR (vocabulary `urn:satchel:directory:1`), exactly the
/// import format of docs/FORMAT.md §4.2: settings, staff, distribution lists, patients, portal users.
///
/// Lists keep the order of the imported file. Decoding checks references: IDs are unique per kind,
/// staff and portal user IDs don't collide (both can act as `--as`), every portal user names a
/// known patient and every list member a known staff member.
public struct Directory: Manifest, Hashable {
    /// `urn:satchel:directory:1`.
    public static let vocabulary = Vocabulary.directory

    /// Clinic-wide settings (`<settings>`).
    public var settings: Settings
    /// Staff members (`<staff>`), in file order.
    public var staff: [Staff]
    /// Staff distribution lists (`<distributionList>`).
    public var distributionLists: [DistributionList]
    /// Patients (`<patient>`).
    public var patients: [Patient]
    /// Portal accounts (`<portalUser>`).
    public var portalUsers: [PortalUser]

    /// A directory of these parts (no reference check: decoding does that).
    public init(settings: Settings = Settings(), staff: [Staff] = [], distributionLists: [DistributionList] = [],
                patients: [Patient] = [], portalUsers: [PortalUser] = []) {
        self.settings = settings
        self.staff = staff
        self.distributionLists = distributionLists
        self.patients = patients
        self.portalUsers = portalUsers
    }

    /// Decodes a directory import file: untrusted, so XSD-validated, then reference-checked.
    /// This is what `satchel directory import FILE` runs before replacing the directory.
    public static func importFile(_ fileBytes: [UInt8], limits: ParseLimits = .default) throws(ManifestError) -> Directory {
        try decode(fileBytes, trust: .untrusted, limits: limits)
    }

    /// Clinic-wide settings.
    public struct Settings: Sendable, Hashable {
        /// Whether new threads allow patient replies unless the composer says otherwise.
        public var defaultAllowReplies: Bool
        /// Custom labels (e.g. `patient` → `Client`), in file order.
        public var labels: [Label]
        /// Notification texts by channel (`<notificationTemplate>`).
        public var notificationTemplates: [NotificationTemplate]
        /// Message templates for compose `--template` (`<messageTemplate>`).
        public var messageTemplates: [MessageTemplate]

        /// Settings with these values.
        public init(defaultAllowReplies: Bool = true, labels: [Label] = [],
                    notificationTemplates: [NotificationTemplate] = [], messageTemplates: [MessageTemplate] = []) {
            self.defaultAllowReplies = defaultAllowReplies
            self.labels = labels
            self.notificationTemplates = notificationTemplates
            self.messageTemplates = messageTemplates
        }
    }

    /// `<label key="patient" value="Client"/>`.
    public struct Label: Sendable, Hashable {
        /// What is relabelled (e.g. `patient`).
        public var key: String
        /// The clinic's word for it (e.g. `Client`).
        public var value: String
        /// A label.
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// A notification text (carries a `{{link}}`, never PHI) for one channel.
    public struct NotificationTemplate: Sendable, Hashable {
        /// How a notification is sent.
        public enum Channel: String, Sendable, CaseIterable { case email, sms }
        /// Template ID.
        public var id: String
        /// The channel this text is for.
        public var channel: Channel
        /// The text; `{{link}}` is replaced by the link to the thread.
        public var text: String
        /// A notification template.
        public init(id: String, channel: Channel, text: String) {
            self.id = id
            self.channel = channel
            self.text = text
        }
    }

    /// A message template: subject and plain-text body.
    public struct MessageTemplate: Sendable, Hashable {
        /// Template ID, as given to compose `--template`.
        public var id: String
        /// Subject of messages made from it.
        public var subject: String
        /// Plain-text body of messages made from it.
        public var body: String
        /// A message template.
        public init(id: String, subject: String, body: String) {
            self.id = id
            self.subject = subject
            self.body = body
        }
    }

    /// A named staff permission.
    public struct Permission: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral {
        /// The permission's name in the directory file.
        public var rawValue: String
        /// A permission by name.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// A permission by name, from a literal.
        public init(stringLiteral value: String) { rawValue = value }
        /// May use the bulk recipient options of compose.
        public static let sendBulkPortalMessage: Permission = "sendBulkPortalMessage"
        /// May list and open other staff members' drafts (subjects and bodies); without it a
        /// draft is visible to its author only.
        public static let viewAllDrafts: Permission = "viewAllDrafts"
    }

    /// A staff member (`<staff>`).
    public struct Staff: Sendable, Hashable {
        /// Staff ID (used as `--as`; unique among staff and portal users).
        public var id: String
        /// Display name (never written to logs or errors).
        public var name: String
        /// Granted permissions (`<permission name=…>`).
        public var permissions: [Permission]
        /// The staff member's own contact details for link-only notifications (a patient replied).
        public var email: String?
        /// Mobile number for SMS notifications.
        public var cell: String?
        /// Channels this person wants notifications on.
        public var notify: Notify
        /// A staff member.
        public init(id: String, name: String, permissions: [Permission] = [], email: String? = nil,
                    cell: String? = nil, notify: Notify = .both) {
            self.id = id
            self.name = name
            self.permissions = permissions
            self.email = email
            self.cell = cell
            self.notify = notify
        }
    }

    /// Which channels a person wants notifications on (`notify` attribute; absent = `both`):
    /// only channels for which the person has an address are ever used.
    public enum Notify: String, Sendable, CaseIterable {
        case email, sms, both, none

        /// Whether this preference allows `channel`.
        public func allows(_ channel: NotificationTemplate.Channel) -> Bool {
            switch self {
            case .both: true
            case .none: false
            case .email: channel == .email
            case .sms: channel == .sms
            }
        }
    }

    /// A staff distribution list (used for Staff Bcc).
    public struct DistributionList: Sendable, Hashable {
        /// List ID (used by `--bcc-list`).
        public var id: String
        /// Display name.
        public var name: String
        /// Staff IDs.
        public var members: [String]
        /// A distribution list.
        public init(id: String, name: String, members: [String] = []) {
            self.id = id
            self.name = name
            self.members = members
        }
    }

    /// A patient (`<patient>`): the subject of threads, reached through their portal users.
    public struct Patient: Sendable, Hashable {
        /// `active` or `discharged` (bulk sends choose by it).
        public enum Status: String, Sendable, CaseIterable { case active, discharged }
        /// Patient ID (`--patient`).
        public var id: String
        /// Display name (never written to logs or errors).
        public var name: String
        /// Whether the patient is active or discharged.
        public var status: Status
        /// The patient's email, used for their own (`role="patient"`) portal users that have none.
        public var email: String?
        /// The patient's mobile number, used likewise.
        public var cell: String?
        /// Whether this patient's portal users may be messaged at all.
        public var portalAccess: Bool
        /// A patient.
        public init(id: String, name: String, status: Status, email: String? = nil, cell: String? = nil,
                    portalAccess: Bool) {
            self.id = id
            self.name = name
            self.status = status
            self.email = email
            self.cell = cell
            self.portalAccess = portalAccess
        }
    }

    /// A portal account: the patient themself or an authorized representative.
    public struct PortalUser: Sendable, Hashable {
        /// The patient themself, or an authorized representative.
        public enum Role: String, Sendable, CaseIterable { case patient, authorizedRepresentative }
        /// Portal user ID (used as `--to` and `--as`).
        public var id: String
        /// Patient ID.
        public var patient: String
        /// Patient or authorized representative.
        public var role: Role
        /// Whether the account is active (inactive accounts are not messaged).
        public var active: Bool
        /// Display name (never written to logs or errors).
        public var name: String
        /// This person's own contact details (v2). Notifications go only to a person's own
        /// address; the patient's are used only for the patient's own (`role="patient"`) portal
        /// users when theirs are absent.
        public var email: String?
        /// Own mobile number.
        public var cell: String?
        /// Channels this person wants notifications on.
        public var notify: Notify
        /// A portal user.
        public init(id: String, patient: String, role: Role, active: Bool, name: String, email: String? = nil,
                    cell: String? = nil, notify: Notify = .both) {
            self.id = id
            self.patient = patient
            self.role = role
            self.active = active
            self.name = name
            self.email = email
            self.cell = cell
            self.notify = notify
        }
    }
}

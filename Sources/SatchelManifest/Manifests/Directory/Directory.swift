/// The clinic directory imported from the EHR (vocabulary `urn:satchel:directory:1`), exactly the
/// import format of docs/FORMAT.md §4.2: settings, staff, distribution lists, patients, portal users.
///
/// Lists keep the order of the imported file. Decoding checks references: IDs are unique per kind,
/// staff and portal user IDs don't collide (both can act as `--as`), every portal user names a
/// known patient and every list member a known staff member.
public struct Directory: Manifest, Hashable {
    public static let vocabulary = Vocabulary.directory

    public var settings: Settings
    public var staff: [Staff]
    public var distributionLists: [DistributionList]
    public var patients: [Patient]
    public var portalUsers: [PortalUser]

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
        public var notificationTemplates: [NotificationTemplate]
        public var messageTemplates: [MessageTemplate]

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
        public var key: String
        public var value: String
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// A notification text (carries a `{{link}}`, never PHI) for one channel.
    public struct NotificationTemplate: Sendable, Hashable {
        public enum Channel: String, Sendable, CaseIterable { case email, sms }
        public var id: String
        public var channel: Channel
        public var text: String
        public init(id: String, channel: Channel, text: String) {
            self.id = id
            self.channel = channel
            self.text = text
        }
    }

    /// A message template: subject and plain-text body.
    public struct MessageTemplate: Sendable, Hashable {
        public var id: String
        public var subject: String
        public var body: String
        public init(id: String, subject: String, body: String) {
            self.id = id
            self.subject = subject
            self.body = body
        }
    }

    /// A named staff permission.
    public struct Permission: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { rawValue = value }
        /// May use the bulk recipient options of compose.
        public static let sendBulkPortalMessage: Permission = "sendBulkPortalMessage"
        /// May list and open other staff members' drafts (subjects and bodies); without it a
        /// draft is visible to its author only.
        public static let viewAllDrafts: Permission = "viewAllDrafts"
    }

    public struct Staff: Sendable, Hashable {
        public var id: String
        public var name: String
        public var permissions: [Permission]
        /// The staff member's own contact details for link-only notifications (a patient replied).
        public var email: String?
        public var cell: String?
        public var notify: Notify
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
        public var id: String
        public var name: String
        /// Staff IDs.
        public var members: [String]
        public init(id: String, name: String, members: [String] = []) {
            self.id = id
            self.name = name
            self.members = members
        }
    }

    public struct Patient: Sendable, Hashable {
        public enum Status: String, Sendable, CaseIterable { case active, discharged }
        public var id: String
        public var name: String
        public var status: Status
        public var email: String?
        public var cell: String?
        /// Whether this patient's portal users may be messaged at all.
        public var portalAccess: Bool
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
        public enum Role: String, Sendable, CaseIterable { case patient, authorizedRepresentative }
        public var id: String
        /// Patient ID.
        public var patient: String
        public var role: Role
        public var active: Bool
        public var name: String
        /// This person's own contact details (v2). Notifications go only to a person's own
        /// address; the patient's are used only for the patient's own (`role="patient"`) portal
        /// users when theirs are absent.
        public var email: String?
        public var cell: String?
        public var notify: Notify
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

import SatchelManifest
import SatchelStore

/// A portal's index of what notifications need, written when a directory is imported, so that
/// queueing notifications for a few messages reads a few small objects instead of decoding the
/// whole clinic directory (which grows with the clinic: 20 MB at 100,000 patients).
///
/// - `contacts/<portal user>` → a one-person `directory` manifest: that portal user (their own
///   contact details and `notify`) and their patient (contact data, portal access, status).
/// - `contacts/<staff>` → a one-person `directory` manifest holding that staff member (their
///   contact details, for link-only notifications of patient replies). Staff and portal user
///   IDs never collide (the directory checks it).
/// - `directory-settings` → a `directory` manifest holding only the settings (notification
///   templates).
///
/// Both are portal-local (sync never sends them) and are rewritten in the same ref transaction
/// as the directory they come from; unchanged entries keep their object and ref.
extension Repository {
    static let settingsRef = try! RefName("directory-settings")
    static func contactRef(_ portalUser: String) throws -> RefName { try RefName("contacts/" + portalUser) }

    /// Objects (into `batch`) and ref updates that make the index match `directory`.
    func contactIndexUpdates(for directory: Directory, batch: ObjectBatch) throws -> [RefUpdate] {
        var existing: [String: ObjectID] = [:]
        for ref in try store.refs.list(prefix: "contacts/") { existing[String(ref.name.rawValue.dropFirst(9))] = ref.id }
        let patients = Dictionary(directory.patients.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var updates: [RefUpdate] = []
        var current = Set<String>()
        for user in directory.portalUsers {
            guard let patient = patients[user.patient], let name = try? Self.contactRef(user.id) else { continue }
            current.insert(user.id)
            let entry = Directory(patients: [patient], portalUsers: [user])
            let id = try batch.put(.manifest, entry.encoded())
            if existing[user.id] != id { updates.append(RefUpdate(name, from: existing[user.id], to: id)) }
        }
        for member in directory.staff {
            guard let name = try? Self.contactRef(member.id) else { continue }
            current.insert(member.id)
            let id = try batch.put(.manifest, Directory(staff: [member]).encoded())
            if existing[member.id] != id { updates.append(RefUpdate(name, from: existing[member.id], to: id)) }
        }
        for (user, id) in existing where !current.contains(user) {
            updates.append(RefUpdate(try Self.contactRef(user), from: id, to: nil))
        }
        let settings = try batch.put(.manifest, Directory(settings: directory.settings).encoded())
        let oldSettings = try store.refs.read(Self.settingsRef)
        if oldSettings != settings { updates.append(RefUpdate(Self.settingsRef, from: oldSettings, to: settings)) }
        return updates
    }

    /// The part of the directory that notifications to `recipients` need: settings plus those
    /// portal users and their patients, and those staff members. Falls back to the whole directory when the index is
    /// missing (a store whose directory was imported before the index existed).
    func notificationDirectory(for recipients: Set<String>) throws -> Directory? {
        guard let settingsID = try store.refs.read(Self.settingsRef) else { return try? directory() }
        var result = try load(Directory.self, settingsID)
        var seenPatients = Set<String>()
        for user in recipients.sorted() {
            guard let name = try? Self.contactRef(user), let id = try store.refs.read(name) else { continue }
            let entry = try load(Directory.self, id)
            result.portalUsers += entry.portalUsers
            result.staff += entry.staff
            for patient in entry.patients where seenPatients.insert(patient.id).inserted { result.patients.append(patient) }
        }
        return result
    }
}

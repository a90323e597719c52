import SatchelManifest

/// Applies the recipient rules to a compose request against the directory: who gets the
/// message, grouped by patient (one thread per patient), and who was skipped and why.
struct RecipientResolver: Sendable {
    let directory: Directory
    let patients: [String: Directory.Patient]
    let users: [String: Directory.PortalUser]
    let staff: [String: Directory.Staff]
    let access: Access

    init(_ directory: Directory, access: Access? = nil) {
        self.directory = directory
        self.access = access ?? Access(directory)
        patients = Dictionary(directory.patients.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        users = Dictionary(directory.portalUsers.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        staff = Dictionary(directory.staff.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// The author of a new message or draft: clinic staff only. A portal user is refused (only the
    /// clinic starts a thread; patients and representatives reply), not "not found".
    func author(_ id: String) throws -> Directory.Staff {
        if staff[id] == nil, users[id] != nil {
            throw MessagingError.refused("portal user \(id) may not start a thread: only clinic staff start conversations; patients and representatives reply in an existing thread")
        }
        return try staffMember(id)
    }

    func staffMember(_ id: String) throws -> Directory.Staff {
        guard let member = staff[id] else { throw MessagingError.notFound("staff \(id) not found in the directory") }
        return member
    }

    func portalUser(_ id: String) throws -> Directory.PortalUser {
        guard let user = users[id] else { throw MessagingError.notFound("portal user \(id) not found in the directory") }
        return user
    }

    func patient(_ id: String) throws -> Directory.Patient {
        guard let patient = patients[id] else { throw MessagingError.notFound("patient \(id) not found in the directory") }
        return patient
    }

    /// Why this portal user cannot receive a portal message now, or nil if they can (Access.swift).
    func ineligibility(of user: Directory.PortalUser) -> String? {
        access.recipientIneligibility(user)
    }

    func ineligibility(of patient: Directory.Patient) -> String? {
        guard patient.portalAccess else { return "patient \(patient.id) has no portal access" }
        return nil
    }

    struct Resolution {
        /// Patient ID → its recipients, in the order patients were first named.
        var groups: [(patient: String, recipients: [String])] = []
        var skipped: [SkippedRecipient] = []
        /// Patient ID → index in `groups` (a bulk send adds thousands of groups).
        private var index: [String: Int] = [:]

        mutating func add(_ user: Directory.PortalUser) {
            if let i = index[user.patient] {
                if !groups[i].recipients.contains(user.id) { groups[i].recipients.append(user.id) }
            } else {
                index[user.patient] = groups.count
                groups.append((user.patient, [user.id]))
            }
        }
    }

    /// Resolves the portal recipients. Named recipients and `--patient` must be eligible (a
    /// refusal names who and why); bulk options skip the ineligible and report them.
    func resolve(to: [String], patient: String?, bulk: DraftManifest.Bulk?, author: Directory.Staff) throws -> Resolution {
        var result = Resolution()
        for id in to {
            let user = try portalUser(id)
            if let reason = ineligibility(of: user) {
                throw MessagingError.refused("portal user \(id) cannot receive portal messages: \(reason)")
            }
            result.add(user)
        }
        if let patientID = patient {
            let patient = try self.patient(patientID)
            if let reason = ineligibility(of: patient) {
                throw MessagingError.refused("cannot message patient \(patientID): \(reason)")
            }
            let active = directory.portalUsers.filter { $0.patient == patientID && $0.active }
            var added = 0
            var reasons: [String] = []
            for user in active {
                // A portal user who cannot be told (no address of their own) is skipped, not
                // notified at someone else's address.
                if let reason = ineligibility(of: user) {
                    result.skipped.append(SkippedRecipient(portalUser: user.id, reason: reason))
                    reasons.append(reason)
                } else {
                    result.add(user)
                    added += 1
                }
            }
            guard added > 0 else {
                throw MessagingError.refused("cannot message patient \(patientID): no active portal user who can be notified (\(reasons.joined(separator: "; ")))")
            }
        }
        if let bulk {
            guard author.permissions.contains(.sendBulkPortalMessage) else {
                throw MessagingError.refused("staff \(author.id) lacks the sendBulkPortalMessage permission needed for bulk messages")
            }
            for user in directory.portalUsers {
                guard let patient = patients[user.patient] else { continue }
                switch bulk {
                case .activePatients where patient.status != .active: continue
                case .dischargedPatients where patient.status != .discharged: continue
                default: break
                }
                if let reason = ineligibility(of: user) {
                    result.skipped.append(SkippedRecipient(portalUser: user.id, reason: reason))
                } else {
                    result.add(user)
                }
            }
        }
        return result
    }

    /// Staff IDs in Bcc from distribution lists (first-seen order, no duplicates).
    func bccStaff(lists: [String]) throws -> [String] {
        var members: [String] = []
        for id in lists {
            guard let list = directory.distributionLists.first(where: { $0.id == id }) else {
                throw MessagingError.notFound("distribution list \(id) not found in the directory")
            }
            for member in list.members where !members.contains(member) { members.append(member) }
        }
        return members
    }
}

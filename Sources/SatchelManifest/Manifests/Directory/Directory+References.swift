extension Directory {
    /// Where decoded entries were in the file, for error messages (line, column per entry).
    struct Positions {
        var staff: [(Int, Int)] = []
        var lists: [(Int, Int)] = []
        var members: [(Int, Int)] = []
        var patients: [(Int, Int)] = []
        var portalUsers: [(Int, Int)] = []
    }

    /// Checks the directory's internal references (what decoding also checks):
    /// unique IDs per kind (staff, list, patient, portal user, notification template, message
    /// template, label key), no staff ID equal to a portal user ID, every portal user's patient
    /// and every list member's staff ID known.
    public func checkReferences() throws(ManifestError) {
        try checkReferences(Positions())
    }

    func checkReferences(_ positions: Positions) throws(ManifestError) {
        func located(_ table: [(Int, Int)], _ index: Int, _ code: ManifestError.Code,
                     _ message: String) -> ManifestError {
            let at = index < table.count ? table[index] : (0, 0)
            return ManifestError(code, message, line: at.0 > 0 ? at.0 : nil, column: at.1 > 0 ? at.1 : nil)
        }
        func unique(_ ids: [String], _ what: String, _ table: [(Int, Int)]) throws(ManifestError) -> Set<String> {
            var seen = Set<String>()
            for (i, id) in ids.enumerated() where !seen.insert(id).inserted {
                throw located(table, i, .duplicate, "\(what) ID \(id) appears more than once")
            }
            return seen
        }
        let staffIDs = try unique(staff.map(\.id), "<staff>", positions.staff)
        _ = try unique(distributionLists.map(\.id), "<distributionList>", positions.lists)
        let patientIDs = try unique(patients.map(\.id), "<patient>", positions.patients)
        _ = try unique(portalUsers.map(\.id), "<portalUser>", positions.portalUsers)
        _ = try unique(settings.notificationTemplates.map(\.id), "<notificationTemplate>", [])
        _ = try unique(settings.messageTemplates.map(\.id), "<messageTemplate>", [])
        _ = try unique(settings.labels.map(\.key), "<label> key", [])

        for (i, user) in portalUsers.enumerated() {
            if staffIDs.contains(user.id) {
                throw located(positions.portalUsers, i, .duplicate,
                              "<portalUser> ID \(user.id) is also a <staff> ID")
            }
            if !patientIDs.contains(user.patient) {
                throw located(positions.portalUsers, i, .danglingReference,
                              "<portalUser id=\"\(user.id)\"> attribute patient names unknown patient \(user.patient)")
            }
        }
        var memberIndex = 0
        for list in distributionLists {
            for member in list.members {
                defer { memberIndex += 1 }
                if !staffIDs.contains(member) {
                    throw located(positions.members, memberIndex, .danglingReference,
                                  "<member> of <distributionList id=\"\(list.id)\"> attribute staff names unknown staff \(member)")
                }
            }
        }
    }
}

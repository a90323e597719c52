import SatchelManifest
import SatchelMessaging
import SatchelStore

/// Which refs travel between which stores.
///
/// Threads travel everywhere. Staff-only state (Staff Bcc envelopes, drafts) travels only
/// between workstations: never to a portal, never from one. Outbox entries and checkpoints are
/// local and never travel.
enum SyncScope {
    static let sharedPrefixes = ["threads/"]
    static let staffOnlyPrefixes = ["envelopes/", "drafts/"]

    static func prefixes(staffOnly: Bool) -> [String] {
        staffOnly ? sharedPrefixes + staffOnlyPrefixes : sharedPrefixes
    }

    static func isSyncable(_ ref: String, staffOnly: Bool) -> Bool {
        prefixes(staffOnly: staffOnly).contains { ref.hasPrefix($0) }
    }

    static func isStaffOnly(_ ref: String) -> Bool {
        staffOnlyPrefixes.contains { ref.hasPrefix($0) }
    }

    /// Staff-only vocabularies, refused in anything to or from a portal.
    static let staffOnlyVocabularies: Set<Vocabulary> = [.envelope, .draft, .draftSet]

    static func checkpointRef(_ peer: String) throws -> RefName {
        do { return try RefName("sync/peers/" + peer) } catch {
            throw SyncError(.badInput, "replica ID \(peer.prefix(40)) is not valid")
        }
    }
}

extension Repository {
    /// What this store knows about a peer.
    func checkpoint(for peer: String) throws -> (id: ObjectID, value: PeerCheckpoint)? {
        try head(PeerCheckpoint.self, try SyncScope.checkpointRef(peer))
    }
}

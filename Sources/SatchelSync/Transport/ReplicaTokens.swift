import Crypto
import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore

/// Per-replica bearer tokens for HTTP sync, kept on a portal store at refs `tokens/<name>`
/// (``ReplicaToken`` manifests, vocabulary `urn:satchel:token:1`).
///
/// A token is `sat1_` followed by 64 lowercase hex digits (256 random bits). It is returned once
/// by ``register(_:)`` and never stored: the store keeps a random 16-byte salt and
/// SHA-256(salt ‖ token). Checking a presented token hashes it with every registered salt and
/// compares in constant time, visiting every token whatever matches. Token refs are local: sync
/// never sends them.
public struct ReplicaTokens: Sendable {
    public let repository: Repository

    public static let prefix = "sat1_"
    /// Longest presented token looked at (longer ones are refused without hashing).
    public static let maxPresentedLength = 256

    public init(_ repository: Repository) {
        self.repository = repository
    }

    static func ref(_ name: String) throws -> RefName {
        guard name.utf8.count <= 128, let first = name.utf8.first, first != UInt8(ascii: "."),
              first != UInt8(ascii: "_"), first != UInt8(ascii: "-"), let ref = try? RefName("tokens/" + name) else {
            throw SyncError(.badInput, "replica name must be 1 to 128 characters of [A-Za-z0-9._-], starting with a letter or digit")
        }
        return ref
    }

    /// Registers `name` and returns its token (the only time it is ever shown). A name whose
    /// token is active is refused; a revoked one is replaced.
    public func register(_ name: String) throws -> (token: String, record: ReplicaToken) {
        try requirePortal()
        let ref = try Self.ref(name)
        let current = try repository.head(ReplicaToken.self, ref)
        if let current, current.value.revoked == nil {
            throw SyncError(.exists, "replica \(name) already has an active token; revoke it first (satchel replica revoke \(name))")
        }
        let token = Self.prefix + Hex.encode(Hex.random(32))
        let salt = Hex.random(16)
        let record = ReplicaToken(name: name, salt: Hex.encode(salt), hash: Hex.encode(Self.digest(salt: salt, token: token)),
                                  created: .now())
        let id = try repository.store.put(.manifest, record.encoded())
        try repository.store.refs.update(ref, from: current?.id, to: id)
        return (token, record)
    }

    /// Every registered token record (active and revoked), by name.
    public func list() throws -> [ReplicaToken] {
        try repository.store.refs.list(prefix: "tokens/").map { try repository.load(ReplicaToken.self, $0.id) }
            .sorted { $0.name < $1.name }
    }

    /// Revokes `name`'s token: from now on it gets 401. Revoking twice changes nothing.
    @discardableResult
    public func revoke(_ name: String) throws -> ReplicaToken {
        let ref = try Self.ref(name)
        guard let current = try repository.head(ReplicaToken.self, ref) else {
            throw SyncError(.notFound, "no replica named \(name) is registered (satchel replica list)")
        }
        guard current.value.revoked == nil else { return current.value }
        var record = current.value
        record.revoked = .now()
        let id = try repository.store.put(.manifest, record.encoded())
        try repository.store.refs.update(ref, from: current.id, to: id)
        return record
    }

    /// The active token record `presented` belongs to, or nil (unknown, malformed or revoked).
    /// Every registered token is hashed and compared in constant time, so the time taken does
    /// not depend on which token (or how much of one) matched.
    public func authenticate(_ presented: String) throws -> ReplicaToken? {
        let bytes = Array(presented.utf8)
        guard bytes.count <= Self.maxPresentedLength else { return nil }
        var match: ReplicaToken?
        for entry in try repository.store.refs.list(prefix: "tokens/") {
            let record = try repository.load(ReplicaToken.self, entry.id)
            guard let salt = Hex.decode(record.salt), let stored = Hex.decode(record.hash) else { continue }
            let computed = Self.digest(salt: salt, token: presented)
            if Self.constantTimeEqual(computed, stored), record.revoked == nil { match = record }
        }
        return match
    }

    /// Records the replica ID a token was first used by; afterwards the token works for that
    /// replica only. Returns false when the token is bound to another replica.
    public func bind(_ name: String, replica: String) throws -> Bool {
        let ref = try Self.ref(name)
        guard let current = try repository.head(ReplicaToken.self, ref), current.value.revoked == nil else { return false }
        if let bound = current.value.replica { return bound == replica }
        var record = current.value
        record.replica = replica
        let id = try repository.store.put(.manifest, record.encoded())
        do {
            try repository.store.refs.update(ref, from: current.id, to: id)
        } catch let error as StoreError where error.code == .conflict {
            return try repository.head(ReplicaToken.self, ref)?.value.replica == replica
        }
        return true
    }

    private func requirePortal() throws {
        guard repository.isPortal else {
            throw SyncError(.refused, "replica tokens are registered on the portal store, which serves HTTP sync; this store is a \(repository.role.rawValue)")
        }
    }

    // MARK: Hashing

    static func digest(salt: [UInt8], token: String) -> [UInt8] {
        var sha = SHA256()
        sha.update(data: salt)
        sha.update(data: Array(token.utf8))
        return Array(sha.finalize())
    }

    /// Compares two byte strings without an early exit.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }



}

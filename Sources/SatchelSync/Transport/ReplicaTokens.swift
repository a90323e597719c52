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
///
/// Binding: a token is bound to one replica ID by its first authorized use (``claim(_:as:)``),
/// permanently, and no two active tokens are ever bound to the same replica. Registration,
/// revocation and claims run under one lease lock (`tmp/tokens.lock`); a server holds it from
/// its last check until the apply it authorizes has committed, so a revoke or a competing claim
/// happens entirely before or entirely after that apply.
public struct ReplicaTokens: Sendable {
    /// The portal store that keeps the tokens.
    public let repository: Repository

    /// The prefix of every token string.
    public static let prefix = "sat1_"
    /// Longest presented token looked at (longer ones are refused without hashing).
    public static let maxPresentedLength = 256

    /// The tokens of `repository`.
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
        return try withLock { try registerLocked(name, ref: ref) }
    }

    private func registerLocked(_ name: String, ref: RefName) throws -> (token: String, record: ReplicaToken) {
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
        return try withLock { try revokeLocked(name, ref: ref) }
    }

    private func revokeLocked(_ name: String, ref: RefName) throws -> ReplicaToken {
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

    /// Why a token may not act for a replica (a server answers 403).
    public struct Refusal: Error, Sendable, CustomStringConvertible, Equatable {
        /// One line saying why (names the token's label and replica IDs, never the token).
        public var message: String
        /// A refusal with that message.
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// Runs `body` holding the tokens lock (waits up to the lease wait; `.busy` after that).
    public func withLock<T>(_ body: () throws -> T) throws -> T {
        let lock = try self.lock()
        defer { lock.release() }
        return try body()
    }

    /// Takes the tokens lock; the caller releases it. A server takes it right before an apply
    /// commits and releases it once the apply has returned.
    public func lock() throws -> LeaseLock {
        let tmp = repository.store.root + "/tmp"
        return try LeaseLock.acquire(tmp + "/tokens.lock", tempDirectory: tmp)
    }

    /// Checks, with the tokens lock held (see ``withLock(_:)``), that `token` (as
    /// ``authenticate(_:)`` returned it) may act for `replica` now, binding it on first use:
    /// - its record must still be the same registration (same salt and hash) and not revoked;
    /// - if bound, only to `replica`;
    /// - if unbound, no other active token may be bound to `replica`; the token is bound to it.
    /// Throws ``Refusal`` otherwise. Returns the record as it now stands.
    @discardableResult
    public func claim(_ token: ReplicaToken, as replica: String) throws -> ReplicaToken {
        let ref = try Self.ref(token.name)
        guard let current = try repository.head(ReplicaToken.self, ref), current.value.salt == token.salt,
              current.value.hash == token.hash, current.value.revoked == nil else {
            throw Refusal("token \(token.name) was revoked or replaced")
        }
        if let bound = current.value.replica {
            guard bound == replica else { throw Refusal("token \(token.name) belongs to replica \(bound), not \(replica)") }
            return current.value
        }
        guard Self.isReplicaID(replica) else { throw Refusal("\(replica.prefix(40)) is not a replica ID") }
        for entry in try repository.store.refs.list(prefix: "tokens/") where entry.name != ref {
            let other = try repository.load(ReplicaToken.self, entry.id)
            if other.revoked == nil, other.replica == replica {
                throw Refusal("replica \(replica) is bound to another token (\(other.name)); revoke that one first")
            }
        }
        var record = current.value
        record.replica = replica
        let id = try repository.store.put(.manifest, record.encoded())
        try repository.store.refs.update(ref, from: current.id, to: id)
        return record
    }

    /// Takes the lock and claims (``claim(_:as:)``): for requests that commit nothing.
    @discardableResult
    public func authorize(_ token: ReplicaToken, as replica: String) throws -> ReplicaToken {
        try withLock { try claim(token, as: replica) }
    }

    /// Records `replica` as the replica of token `name` (first use). Returns false when the token
    /// is unknown, revoked, bound to another replica, or the replica is taken by another token.
    public func bind(_ name: String, replica: String) throws -> Bool {
        let ref = try Self.ref(name)
        return try withLock {
            guard let current = try repository.head(ReplicaToken.self, ref) else { return false }
            do {
                try claim(current.value, as: replica)
                return true
            } catch is Refusal {
                return false
            }
        }
    }

    /// A replica ID as stores make them (the `Identifier` type of the schemas:
    /// `[A-Za-z0-9][A-Za-z0-9._-]{0,127}`).
    public static func isReplicaID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...128).contains(bytes.count) else { return false }
        func alnum(_ b: UInt8) -> Bool {
            (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
        }
        return alnum(bytes[0]) && bytes.dropFirst().allSatisfy { alnum($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
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

/// A lock file that is a lease: it names its holder (pid, host) and when it was taken or last
/// renewed. It goes stale by itself: when its holder's process is gone (same host) or when it
/// was not renewed within ``ttl`` seconds (any host). Nobody ever needs to unlock by hand.
///
/// File content (docs/FORMAT.md): `satchel-lock 1\npid P\nhost H\ntime MILLIS\ntoken T\n`.
/// The file is written completely under a temp name and hard-linked into place, so it is
/// never seen half-written; `link` failing with EEXIST is what makes acquisition exclusive.
public final class LeaseLock: Sendable {
    /// The lock file.
    public let path: String
    /// Random token naming this holder (checked before a release or renewal).
    public let token: String
    /// Seconds after the last renewal at which the lease goes stale.
    public let ttl: Double
    private let tempDirectory: String

    struct Holder: Equatable {
        var pid: Int32
        var host: String
        var time: Double  // seconds since epoch
        var token: String
    }

    /// Default seconds after which an un-renewed lease is stale.
    public static let defaultTTL: Double = 60
    /// Default seconds to wait for a lock held by someone else.
    public static let defaultWait: Double = 10

    private init(path: String, token: String, ttl: Double, tempDirectory: String) {
        self.path = path
        self.token = token
        self.ttl = ttl
        self.tempDirectory = tempDirectory
    }

    /// Takes the lock at `path`, waiting up to `wait` seconds while a live holder has it, and
    /// taking over a stale one. Throws `.busy` when the wait runs out.
    public static func acquire(_ path: String, tempDirectory: String, wait: Double = defaultWait,
                               ttl: Double = defaultTTL) throws -> LeaseLock {
        let token = Sys.randomToken()
        let deadline = Sys.monotonic() + wait
        var delay = 0.001
        while true {
            let temp = tempDirectory + "/lock-" + token + ".tmp"
            do {
                let fd = try FileIO.createExclusive(temp)
                try FileIO.closeAfter(fd) { try FileIO.writeAll($0, Self.content(token: token)) }
            } catch {
                throw StoreError.io(error, path: temp, "cannot create lock file")
            }
            defer { try? Sys.unlink(temp) }
            do {
                try Sys.link(temp, path)
                return LeaseLock(path: path, token: token, ttl: ttl, tempDirectory: tempDirectory)
            } catch .fileExists {
                // Held (or stale): look at the holder.
            } catch {
                throw StoreError.io(error, path: path, "cannot create lock")
            }
            if let holder = readHolder(path), isStale(holder, ttl: ttl) {
                breakStale(path, holder: holder)
                continue
            } else if readHolder(path) == nil, let status = try? Sys.status(path),
                      Sys.now() - status.modified > ttl {
                // Unreadable lock file older than a lease: treat as stale.
                try? Sys.unlink(path)
                continue
            }
            if Sys.monotonic() >= deadline {
                let who = readHolder(path).map { "pid \($0.pid) on \($0.host)" } ?? "another process"
                throw StoreError(.busy, "lock is held by \(who)", path: path)
            }
            Sys.sleep(seconds: delay)
            delay = min(delay * 2, 0.1)
        }
    }

    /// Renews the lease (long operations call this well within ``ttl``).
    public func renew() throws {
        guard let holder = Self.readHolder(path), holder.token == token else {
            throw StoreError(.busy, "lock was taken over (lease expired)", path: path)
        }
        try FileIO.writeFileDurably(path, Self.content(token: token), tempDirectory: tempDirectory,
                                    durable: false)
    }

    /// Releases the lock if it is still ours.
    public func release() {
        if let holder = Self.readHolder(path), holder.token == token {
            try? Sys.unlink(path)
        }
    }

    /// True while the lock file still names this lease.
    public var isHeld: Bool { Self.readHolder(path)?.token == token }

    static func content(token: String) -> [UInt8] {
        let millis = Int64(Sys.now() * 1000)
        return Array("satchel-lock 1\npid \(Sys.processID)\nhost \(Sys.hostName)\ntime \(millis)\ntoken \(token)\n".utf8)
    }

    static func readHolder(_ path: String) -> Holder? {
        guard let bytes = try? FileIO.readSmallFile(path, limit: 4096) else { return nil }
        var fields: [String: String] = [:]
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        guard lines.first == "satchel-lock 1" else { return nil }
        for line in lines.dropFirst() {
            guard let space = line.firstIndex(of: " ") else { return nil }
            fields[String(line[..<space])] = String(line[line.index(after: space)...])
        }
        guard let pid = fields["pid"].flatMap({ Int32($0) }), let host = fields["host"],
              let time = fields["time"].flatMap({ Int64($0) }), let token = fields["token"] else { return nil }
        return Holder(pid: pid, host: host, time: Double(time) / 1000, token: token)
    }

    static func isStale(_ holder: Holder, ttl: Double) -> Bool {
        if holder.host == Sys.hostName && !Sys.processIsAlive(holder.pid) { return true }
        return Sys.now() - holder.time > ttl
    }

    /// Moves a stale lock aside. If, in a race, the file moved was a fresh lock someone just
    /// took, it is put back.
    static func breakStale(_ path: String, holder: Holder) {
        let aside = path + ".stale-" + Sys.randomToken()
        guard (try? Sys.rename(path, aside)) != nil else { return }
        if let moved = readHolder(aside), moved.token != holder.token {
            try? Sys.link(aside, path)
        }
        try? Sys.unlink(aside)
    }
}

import SystemPackage

/// Named pointers to objects (thread heads, draft heads, checkpoints): one small file per ref
/// under `refs/`, holding `sha256:<hex>\n`.
///
/// Updates are compare-and-swap under a lease lock (`refs/<name>.lock`): the caller says what
/// it expects the ref to hold now, and a stale expectation is refused with `.conflict`. The
/// new value is written to a temp file, fsynced, renamed over the ref and the directory is
/// fsynced, so a crash leaves either the old or the new value.
public final class RefStore: Sendable {
    /// The `refs/` directory.
    public let directory: String
    let tempDirectory: String
    /// Seconds to wait for a ref lock held by another process.
    public let lockWait: Double
    /// Every change is recorded here before it happens.
    public let changeLog: ChangeLog

    init(directory: String, tempDirectory: String, changeLog: ChangeLog, lockWait: Double = LeaseLock.defaultWait) {
        self.directory = directory
        self.tempDirectory = tempDirectory
        self.changeLog = changeLog
        self.lockWait = lockWait
    }

    func path(of name: RefName) -> String { directory + "/" + name.rawValue }

    /// The object a ref points at, or nil if the ref does not exist.
    public func read(_ name: RefName) throws -> ObjectID? {
        let file = path(of: name)
        guard Sys.exists(file) else { return nil }
        let bytes: [UInt8]
        do { bytes = try FileIO.readSmallFile(file, limit: 256) } catch {
            if case .notFound = (error as? StoreError)?.code { return nil }
            throw StoreError.io(error, path: file, "cannot read ref \(name)")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        // Only the canonical form the store writes: any other text (even an ID in uppercase)
        // is damage, and fsck must see it.
        guard text.hasSuffix("\n"), let id = ObjectID(text.dropLast()), id.description + "\n" == text else {
            throw StoreError(.corrupt, "ref \(name) does not hold an object ID", path: file)
        }
        return id
    }

    /// The commit barrier. A ref change appends its change-log record before it moves the ref
    /// (a crash can leave a record without its change, never a change without a record); for
    /// that span the writer holds a shared flock(2) on `commit.lock` at the store root (an empty
    /// file made with the store, or on first use; released by the
    /// kernel if the process dies). ``settle()`` takes it exclusively and lets it go at once: a
    /// reader that read change-log records and then settles knows every change those records
    /// describe has reached its ref, or never will (its writer died). Sync reads the log, then
    /// settles, then reads refs: without it a bundle could carry a ref's old value (or miss a
    /// new ref) while its `upTo` counts the change as sent, and the peer would never get it.
    var commitLockPath: String { FileIO.parent(of: directory) + "/commit.lock" }

    func inFlight<T>(_ body: () throws -> T) throws -> T {
        let fd: FileDescriptor
        do {
            fd = try Sys.openLockFile(commitLockPath)
            try Sys.lockShared(fd)
        } catch {
            throw StoreError.io(error, path: commitLockPath, "cannot take the ref commit lock")
        }
        defer { try? fd.close() }
        return try body()
    }

    /// Waits until no ref change whose change-log record is already written is still in
    /// flight (at most ``lockWait`` seconds; `.busy` after that). See ``commitLockPath``.
    public func settle() throws {
        let fd: FileDescriptor
        do { fd = try Sys.openLockFile(commitLockPath) } catch {
            throw StoreError.io(error, path: commitLockPath, "cannot open the ref commit lock")
        }
        defer { try? fd.close() }
        let deadline = Sys.monotonic() + lockWait
        var delay = 0.0005
        while true {
            do {
                try Sys.tryLockExclusive(fd)
                break
            } catch .wouldBlock {
                guard Sys.monotonic() < deadline else {
                    throw StoreError(.busy, "ref changes kept the store busy for \(Int(lockWait)) s", path: commitLockPath)
                }
                Sys.sleep(seconds: delay)
                delay = min(delay * 2, 0.02)
            } catch {
                throw StoreError.io(error, path: commitLockPath, "cannot take the ref commit lock")
            }
        }
        // No change is in flight now: a ref-transaction journal still here belongs to a writer
        // that died; its records are in the log, so finish it before anyone reads refs against
        // them (the store's next open would, but a long-running server may not open it again).
        try recoverInterruptedTransactions()
        // Closing the descriptor (deferred) releases the lock.
    }

    /// Sets `name` to `new` (nil deletes it) if it currently holds `expected` (nil: must not
    /// exist). Throws `.conflict` otherwise, `.busy` if the lock cannot be had in time.
    public func update(_ name: RefName, from expected: ObjectID?, to new: ObjectID?) throws {
        let file = path(of: name)
        let parent = FileIO.parent(of: file)
        try ensureParentDirectories(name)
        let lock = try LeaseLock.acquire(file + ".lock", tempDirectory: tempDirectory, wait: lockWait)
        defer { lock.release() }
        let current = try read(name)
        guard current == expected else {
            throw StoreError(.conflict,
                             "ref \(name) holds \(current?.short ?? "nothing"), not the expected \(expected?.short ?? "nothing")",
                             path: file)
        }
        guard current != new else { return }
        try inFlight {
            try changeLog.append([RefUpdate(name, from: current, to: new)])
            if let new {
                try FileIO.writeFileDurably(file, Array((new.description + "\n").utf8), tempDirectory: tempDirectory)
            } else if current != nil {
                do {
                    try Sys.unlink(file)
                    try Sys.fsyncDirectory(parent)
                } catch {
                    throw StoreError.io(error, path: file, "cannot delete ref \(name)")
                }
            }
        }
    }

    /// All refs (optionally under a prefix such as `threads/`), sorted by name.
    public func list(prefix: String = "") throws -> [(name: RefName, id: ObjectID)] {
        var result: [(RefName, ObjectID)] = []
        try walk(directory, relative: "") { relative in
            guard relative.hasPrefix(prefix), let name = try? RefName(relative) else { return }
            if let id = try read(name) { result.append((name, id)) }
        }
        return result.sorted { $0.0 < $1.0 }
    }

    /// Names of ref files whose content is not a valid object ID (fsck reports them).
    func walkAll(_ visit: (String) throws -> Void) throws {
        try walk(directory, relative: "", visit)
    }

    private func walk(_ path: String, relative: String, _ visit: (String) throws -> Void) throws {
        for entry in try Sys.list(path).sorted() {
            let full = path + "/" + entry
            let rel = relative.isEmpty ? entry : relative + "/" + entry
            guard let status = try? Sys.linkStatus(full) else { continue }
            if status.isDirectory {
                try walk(full, relative: rel, visit)
            } else if status.isRegular && !entry.contains(".lock") && !entry.hasSuffix(".tmp") {
                try visit(rel)
            }
        }
    }
}

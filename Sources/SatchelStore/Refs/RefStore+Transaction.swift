import SystemPackage

/// One ref change inside a transaction: compare-and-swap semantics per ref.
public struct RefUpdate: Sendable, Equatable {
    /// The ref.
    public var name: RefName
    /// What the ref must hold now (nil: must not exist).
    public var expected: ObjectID?
    /// What it will hold (nil: delete).
    public var new: ObjectID?

    /// Set `name` from `expected` to `new`.
    public init(_ name: RefName, from expected: ObjectID?, to new: ObjectID?) {
        self.name = name
        self.expected = expected
        self.new = new
    }
}

extension RefStore {
    static let journalPrefix = "txn-"
    static let journalSuffix = ".journal"

    /// Applies several ref updates all-or-nothing.
    ///
    /// Locks every ref that exists or is expected to (in name order, so two transactions cannot
    /// deadlock), checks every expectation (any mismatch: nothing changes, `.conflict`), then
    /// writes a durable journal in `tmp/` listing the updates, applies them, flushes them with one
    /// `syncfs`, and removes the journal. A crash after the journal is durable is rolled forward
    /// the next time the store is opened: each ref that still holds its expected value is moved to
    /// its new value. Objects the new values point at must be durable before this is called.
    ///
    /// Refs being *created* (expected nil; a bulk send creates thousands, all under fresh random
    /// IDs) take no lock file: they are checked to be absent and renamed into place. Two writers
    /// creating the same new name at the same instant is the only race this leaves, and callers
    /// name new refs with 80-bit random IDs.
    public func commit(_ updates: [RefUpdate]) throws {
        try commit(updates, objects: nil)
    }

    /// ``commit(_:)`` for refs naming `objects`, loose objects staged but not yet published: their
    /// barriers are shared with the transaction's. Order: object contents durable (syncfs);
    /// objects renamed, change-log records and the ref's (or journal's) new file written;
    /// all of that durable (syncfs); then the ref renamed and its directory synced. So no ref
    /// becomes durable before the objects it names and its change-log record. Without staged
    /// objects the first barrier is skipped. If the transaction is refused, nothing is published.
    func commit(_ updates: [RefUpdate], objects: StagedLoose?) throws {
        guard !updates.isEmpty else {
            try objects?.publish()
            return
        }
        let sorted = updates.sorted { $0.name < $1.name }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.name == b.name {
            throw StoreError(.invalidArgument, "ref \(a.name) appears twice in one transaction")
        }
        var parents = Set<String>()
        for update in sorted where parents.insert(FileIO.parent(of: path(of: update.name))).inserted {
            try ensureParentDirectories(update.name)
        }
        let isCreate: (RefUpdate) -> Bool = { $0.expected == nil && $0.new != nil }
        var locks: [LeaseLock] = []
        defer { locks.forEach { $0.release() } }
        for update in sorted where !isCreate(update) {
            locks.append(try LeaseLock.acquire(path(of: update.name) + ".lock", tempDirectory: tempDirectory, wait: lockWait))
        }
        for update in sorted {
            let current = isCreate(update) ? (Sys.exists(path(of: update.name)) ? try read(update.name) : nil) : try read(update.name)
            guard current == update.expected else {
                throw StoreError(.conflict,
                                 "ref \(update.name) holds \(current?.short ?? "nothing"), not the expected \(update.expected?.short ?? "nothing")",
                                 path: path(of: update.name))
            }
        }
        let effective = sorted.filter { $0.expected != $0.new }
        guard !effective.isEmpty else {
            try objects?.publish()
            return
        }
        try inFlight {
            if let objects, !objects.isEmpty {
                try objects.syncContents()
                try objects.rename()
            }
            try changeLog.append(effective, sync: false)
            if effective.count == 1 {
                // One barrier for the objects' names, the record and the ref's new file; then
                // the rename and its directory.
                let staged = try stage(effective[0])
                do { try Sys.syncFileSystem(directory) } catch {
                    if let staged { try? Sys.unlink(staged) }
                    throw StoreError.io(error, path: directory, "cannot make the change to ref \(effective[0].name) durable")
                }
                try finish(effective[0], staged: staged)
                return
            }
            let journal = tempDirectory + "/" + Self.journalPrefix + Sys.randomToken() + Self.journalSuffix
            // The journal's barrier also makes the objects' names and the records durable.
            try FileIO.writeFileDurably(journal, Self.encodeJournal(effective), tempDirectory: tempDirectory, durable: false)
            do { try Sys.syncFileSystem(directory) } catch {
                // Not applied, and reported as failed: the journal must not be rolled forward later.
                try? Sys.unlink(journal)
                throw StoreError.io(error, path: journal, "cannot make the ref transaction's journal durable")
            }
            do {
                for update in effective { try apply(update, durable: false) }
                // One barrier for every ref file and directory entry written: syncfs. (The journal
                // covers a crash before it: refs left at their expected values are rolled forward.)
                try Sys.syncFileSystem(directory)
            } catch {
                // A write failed half-way while this process lives on (a server, a retrying
                // client): some refs moved, others not. Finish now, each ref durably; if that fails
                // too, hand the journal to the next open (as if this process had died) and say so.
                do {
                    try rollForward(effective)
                    try Sys.syncFileSystem(directory)
                } catch let second {
                    try? FileIO.writeFileDurably(journal, Self.encodeJournal(effective, pid: 0), tempDirectory: tempDirectory)
                    throw StoreError.io(second, path: journal,
                                        "cannot finish ref transaction (\(error)); the next open of the store completes it")
                }
            }
            // Durable from here on: a journal left behind only makes the next open re-check refs
            // that already hold their new values.
            do {
                try Sys.unlink(journal)
                try Sys.fsyncDirectory(tempDirectory)
            } catch {
                try? FileIO.writeFileDurably(journal, Self.encodeJournal(effective, pid: 0), tempDirectory: tempDirectory)
            }
        }
    }

    /// Moves every ref of a started transaction that still holds its expected value (or was
    /// torn) to its new value, durably. Refs already at their new value are left alone.
    func rollForward(_ updates: [RefUpdate]) throws {
        for update in updates {
            var torn = false
            var current: ObjectID?
            do { current = try read(update.name) } catch { torn = true }
            if current == update.new && !torn { continue }
            if torn || current == update.expected {
                try apply(update, durable: true)
            }
        }
    }

    func ensureParentDirectories(_ name: RefName) throws {
        do {
            var dir = directory
            var relative = "refs"
            for component in name.rawValue.split(separator: "/").dropLast() {
                dir += "/" + component
                relative += "/" + component
                try Sys.mkdir(dir)
                // A symlinked ref directory would let a ref write land outside the store.
                guard try Sys.linkStatus(dir).isDirectory else {
                    throw StoreError(.corrupt, "\(relative) is not a real directory (a symlink?); nothing was written; run fsck",
                                     path: dir)
                }
            }
        } catch {
            throw StoreError.io(error, path: path(of: name), "cannot create ref directory")
        }
    }

    /// Writes the new value of `update` to a temporary file (no barrier); nil for a deletion.
    private func stage(_ update: RefUpdate) throws -> String? {
        guard let new = update.new else { return nil }
        let temp = tempDirectory + "/ref-" + Sys.randomToken() + ".tmp"
        do {
            let fd = try FileIO.createExclusive(temp)
            try FileIO.closeAfter(fd) { fd in try FileIO.writeAll(fd, Array((new.description + "\n").utf8)) }
        } catch {
            try? Sys.unlink(temp)
            throw StoreError.io(error, path: path(of: update.name), "cannot write ref \(update.name)")
        }
        return temp
    }

    /// Moves a staged value into place (or deletes the ref) and syncs the ref's directory.
    private func finish(_ update: RefUpdate, staged: String?) throws {
        let file = path(of: update.name)
        do {
            if let staged {
                try Sys.rename(staged, file)
            } else {
                do { try Sys.unlink(file) } catch .noSuchFileOrDirectory {}
            }
            try Sys.fsyncDirectory(FileIO.parent(of: file))
        } catch {
            if let staged { try? Sys.unlink(staged) }
            throw StoreError.io(error, path: file, "cannot \(staged == nil ? "delete" : "write") ref \(update.name)")
        }
    }

    /// Writes one ref value (caller holds its lock). With `durable`, the file and its directory
    /// are fsynced; otherwise nothing is (the caller issues one barrier for all).
    private func apply(_ update: RefUpdate, durable: Bool) throws {
        let file = path(of: update.name)
        if let new = update.new {
            let temp = tempDirectory + "/ref-" + Sys.randomToken() + ".tmp"
            do {
                let fd = try FileIO.createExclusive(temp)
                try FileIO.closeAfter(fd) { fd in
                    try FileIO.writeAll(fd, Array((new.description + "\n").utf8))
                    if durable { try Sys.fsync(fd) }
                }
                try Sys.rename(temp, file)
                if durable { try Sys.fsyncDirectory(FileIO.parent(of: file)) }
            } catch {
                try? Sys.unlink(temp)
                throw StoreError.io(error, path: file, "cannot write ref \(update.name)")
            }
        } else {
            do {
                try Sys.unlink(file)
                if durable { try Sys.fsyncDirectory(FileIO.parent(of: file)) }
            } catch .noSuchFileOrDirectory {
            } catch {
                throw StoreError.io(error, path: file, "cannot delete ref \(update.name)")
            }
        }
    }

    /// `pid` 0 marks a journal its (living) writer gave up on: the next open rolls it forward.
    static func encodeJournal(_ updates: [RefUpdate], pid: Int32 = Sys.processID) -> [UInt8] {
        var text = "satchel-ref-txn 1\npid \(pid)\nhost \(Sys.hostName)\n"
        for update in updates {
            text += "\(update.name) \(update.expected?.description ?? "-") \(update.new?.description ?? "-")\n"
        }
        return Array(text.utf8)
    }

    static func decodeJournal(_ bytes: [UInt8]) -> (pid: Int32, host: String, updates: [RefUpdate])? {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 4, lines[0] == "satchel-ref-txn 1", lines.last == "",
              lines[1].hasPrefix("pid "), let pid = Int32(lines[1].dropFirst(4)),
              lines[2].hasPrefix("host ") else { return nil }
        var updates: [RefUpdate] = []
        for line in lines[3..<(lines.count - 1)] {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let name = try? RefName(String(fields[0])) else { return nil }
            func id(_ text: Substring) -> ObjectID?? { text == "-" ? .some(nil) : ObjectID(text).map { .some($0) } }
            guard let old = id(fields[1]), let new = id(fields[2]) else { return nil }
            updates.append(RefUpdate(name, from: old, to: new))
        }
        return (pid, String(lines[2].dropFirst(5)), updates)
    }

    /// Rolls forward transactions whose process died after making its journal durable.
    /// Returns how many journals were recovered.
    @discardableResult
    public func recoverInterruptedTransactions() throws -> Int {
        var recovered = 0
        for name in try Sys.list(tempDirectory) where name.hasPrefix(Self.journalPrefix) && name.hasSuffix(Self.journalSuffix) {
            let journal = tempDirectory + "/" + name
            guard let bytes = try? FileIO.readSmallFile(journal, limit: 1 << 30) else { continue }
            guard let parsed = Self.decodeJournal(bytes) else {
                // Torn before it was durable: the transaction never started applying.
                try? Sys.unlink(journal)
                continue
            }
            let age = Sys.now() - ((try? Sys.status(journal).modified) ?? Sys.now())
            let ownerGone = parsed.host == Sys.hostName ? !Sys.processIsAlive(parsed.pid) : age > LeaseLock.defaultTTL
            guard ownerGone else { continue }  // still running
            for update in parsed.updates {
                let lock = try LeaseLock.acquire(path(of: update.name) + ".lock", tempDirectory: tempDirectory, wait: lockWait)
                defer { lock.release() }
                // A ref file torn by the crash (written, not yet flushed) reads as damaged: it
                // was part of this transaction, so it gets its new value.
                var torn = false
                var current: ObjectID?
                do { current = try read(update.name) } catch { torn = true }
                if torn || current == update.expected {
                    try ensureParentDirectories(update.name)
                    try apply(update, durable: true)
                }
            }
            try Sys.unlink(journal)
            recovered += 1
        }
        return recovered
    }
}

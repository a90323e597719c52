import SystemPackage

/// The store's change log: every ref change gets the next local sequence number, so sync can
/// ask "what changed since sequence N" without scanning every ref (Syncthing's sequence
/// numbers, CouchDB's changes feed).
///
/// File `changes.log` at the store root (docs/FORMAT.md): a header line
/// `satchel-changes 1 <epoch>` and then one line per change, `<seq> <ref> <new> <previous>`, each
/// object `sha256:…` or `-` (lines without `<previous>`, written by earlier builds, are read).
/// Records are appended (and fsynced) before the refs they describe change, so a crash can leave
/// a record for a change that did not happen (harmless: sync sends the ref's current value),
/// never a change without a record. Compaction keeps only each ref's latest record and keeps
/// its sequence number, so a peer's checkpoint stays valid; a new epoch (a lost or replaced
/// log) tells peers to do a full reconcile.
public final class ChangeLog: Sendable {
    /// The latest change of one ref after a sequence number.
    public struct Entry: Sendable, Equatable {
        /// The change's sequence number.
        public var sequence: UInt64
        /// The ref that changed.
        public var ref: RefName
        /// What the ref was set to (nil: deleted).
        public var object: ObjectID?
        /// What the ref held before the first change this entry stands for (nil: nothing, or
        /// unknown when ``previousKnown`` is false). For ``ChangeLog/changes(after:)`` this is a
        /// value the ref held at or before the sequence asked about: sync leaves out what that
        /// value reaches, which the peer already has.
        public var previous: ObjectID?
        /// Whether ``previous`` is known (old-format records lack it).
        public var previousKnown: Bool

        /// An entry.
        public init(sequence: UInt64, ref: RefName, object: ObjectID?, previous: ObjectID? = nil,
                    previousKnown: Bool = false) {
            self.sequence = sequence
            self.ref = ref
            self.object = object
            self.previous = previous
            self.previousKnown = previousKnown
        }

        var line: String {
            "\(sequence) \(ref) \(object?.description ?? "-")" + (previousKnown ? " \(previous?.description ?? "-")" : "") + "\n"
        }

        /// This entry's change after `earlier`'s: the latest object, the earliest previous.
        func following(_ earlier: Entry) -> Entry {
            var merged = self
            merged.previous = earlier.previous
            merged.previousKnown = earlier.previousKnown
            return merged
        }
    }

    /// Path of `changes.log`.
    public let path: String
    let tempDirectory: String
    /// Compact when the file grows past this many bytes.
    static let compactionThreshold: UInt64 = 8 << 20

    init(path: String, tempDirectory: String) {
        self.path = path
        self.tempDirectory = tempDirectory
    }

    private func withLock<T>(_ body: () throws -> T) throws -> T {
        let lock = try LeaseLock.acquire(tempDirectory + "/changes.lock", tempDirectory: tempDirectory)
        defer { lock.release() }
        return try body()
    }

    /// Runs `body` while no ref change can begin: every ref change appends its record under
    /// the change-log lock before it touches a ref, and `body` holds that lock (so it must not
    /// call this log's other methods). Changes already past their record may still finish.
    /// For a reader that needs a quiet moment, such as a backup's ref snapshot, once optimistic
    /// attempts have failed; writers wait meanwhile (up to their lock wait), so keep it short.
    public func withAppendsHeld<T>(_ body: () throws -> T) throws -> T {
        try withLock(body)
    }

    /// The log's epoch (created with the log).
    public func epoch() throws -> String {
        try withLock { try ensureFile() }
    }

    /// Appends one record per update, durably (`sync: false`: the caller issues the barrier that
    /// makes the records durable, before any ref they describe moves). Returns the last sequence
    /// number written.
    @discardableResult
    func append(_ updates: [RefUpdate], sync: Bool = true) throws -> UInt64 {
        guard !updates.isEmpty else { return try lastSequence() }
        return try withLock {
            _ = try ensureFile()
            var last = try readLastSequence()
            var text = ""
            if try !endsWithNewline() { text += "\n" }  // seal a torn final line
            for update in updates {
                let (next, overflow) = last.addingReportingOverflow(1)
                guard !overflow else {
                    throw StoreError(.corrupt, "change log is damaged: its last sequence number is \(last), so no change can be recorded; run fsck",
                                     path: path)
                }
                last = next
                text += Entry(sequence: last, ref: update.name, object: update.new, previous: update.expected,
                              previousKnown: true).line
            }
            do {
                let fd = try FileDescriptor.open(FilePath(path), .writeOnly, options: [.append, .closeOnExec])
                try FileIO.closeAfter(fd) { fd in
                    try FileIO.writeAll(fd, Array(text.utf8))
                    if sync { try Sys.fsync(fd) }
                }
            } catch {
                throw StoreError.io(error, path: path, "cannot append to the change log")
            }
            let size = (try? Sys.status(path).size) ?? 0
            if size > max(Self.compactionThreshold, 2 * compactedSize()) { try compactLocked() }
            return last
        }
    }

    /// The highest sequence number recorded (0 for an empty log).
    public func lastSequence() throws -> UInt64 {
        try withLock {
            _ = try ensureFile()
            return try readLastSequence()
        }
    }

    /// Records with a sequence number above `sequence`, oldest first, one per ref: its latest
    /// object, and as `previous` what it held before its first change after `sequence`.
    /// Records are in sequence order, so only the file's tail after `sequence` is read.
    public func changes(after sequence: UInt64) throws -> [Entry] {
        try withLock {
            _ = try ensureFile()
            var latest: [RefName: Entry] = [:]
            for entry in try readTail(after: sequence) { latest[entry.ref] = latest[entry.ref].map(entry.following) ?? entry }
            return latest.values.sorted { $0.sequence < $1.sequence }
        }
    }

    /// The complete records after `sequence`, read backwards in 64 KiB steps until a record at
    /// or below it (or the header) is reached.
    private func readTail(after sequence: UInt64) throws -> [Entry] {
        let fd = try FileIO.openRead(path)
        return try FileIO.closeAfter(fd) { fd in
            let size = try Sys.status(fd).size
            var end = size
            var pending: [UInt8] = []  // bytes after the last newline seen, carried to the next step
            var found: [Entry] = []
            var first = true
            while end > 0 {
                let start = end > 65_536 ? end - 65_536 : 0
                var chunk = [UInt8](repeating: 0, count: Int(end - start))
                _ = try chunk.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: Int64(start), into: $0) }
                chunk += pending
                var lines = chunk.split(separator: 0x0A, omittingEmptySubsequences: false)
                if first {
                    lines.removeLast()  // after the final newline: empty, or a torn record
                    first = false
                }
                pending = start > 0 ? Array(lines.removeFirst()) : []
                for line in lines.reversed() {
                    guard let entry = Self.parse(line) else {
                        if Self.epoch(fromHeader: Array(line)) != nil { return found.reversed() }
                        continue
                    }
                    if entry.sequence <= sequence { return found.reversed() }
                    found.append(entry)
                }
                end = start
            }
            return found.reversed()
        }
    }

    /// Rewrites the log keeping only each ref's latest record.
    public func compact() throws {
        try withLock {
            _ = try ensureFile()
            try compactLocked()
        }
    }

    private func compactLocked() throws {
        let (epoch, entries) = try readAll()
        var latest: [RefName: Entry] = [:]
        for entry in entries { latest[entry.ref] = latest[entry.ref].map(entry.following) ?? entry }
        var body = ""
        for entry in latest.values.sorted(by: { $0.sequence < $1.sequence }) {
            body += entry.line
        }
        // The header records the compacted size, so the next compaction waits until the log
        // has doubled (a log of many live refs is never rewritten on every change).
        var header = "satchel-changes 1 \(epoch) "
        let estimate = UInt64(header.utf8.count + body.utf8.count + 21)
        header += "\(estimate)\n"
        try FileIO.writeFileDurably(path, Array((header + body).utf8), tempDirectory: tempDirectory)
    }

    /// Creates the log with a new epoch if it does not exist; returns the epoch. Reads only the
    /// header line.
    private func ensureFile() throws -> String {
        if let header = try? readHeader() {
            guard let epoch = Self.epoch(fromHeader: header) else {
                throw StoreError(.corrupt, "change log header is damaged", path: path)
            }
            return epoch
        }
        let epoch = "e" + Sys.randomToken().prefix(20)
        if !Sys.exists(path) {
            try FileIO.writeFileDurably(path, Array("satchel-changes 1 \(epoch) 0\n".utf8), tempDirectory: tempDirectory)
            return epoch
        }
        throw StoreError(.corrupt, "change log header is damaged", path: path)
    }

    /// The header line's bytes (without the newline).
    private func readHeader() throws -> [UInt8] {
        let fd = try FileIO.openRead(path)
        return try FileIO.closeAfter(fd) { fd in
            var bytes = [UInt8](repeating: 0, count: 256)
            let n = try bytes.withUnsafeMutableBytes { try FileIO.readFully(fd, into: $0) }
            return Array(bytes[0..<n].prefix(while: { $0 != 0x0A }))
        }
    }

    /// File size right after the last compaction (the header's fourth field; 0 if absent).
    private func compactedSize() -> UInt64 {
        guard let header = try? readHeader() else { return 0 }
        let fields = String(decoding: header, as: UTF8.self).split(separator: " ")
        return fields.count >= 4 ? UInt64(fields[3]) ?? 0 : 0
    }

    static func epoch(fromHeader header: [UInt8]) -> String? {
        let fields = String(decoding: header, as: UTF8.self).split(separator: " ")
        guard fields.count == 3 || fields.count == 4, fields[0] == "satchel-changes", fields[1] == "1" else { return nil }
        return String(fields[2])
    }

    private func endsWithNewline() throws -> Bool {
        let fd = try FileIO.openRead(path)
        return try FileIO.closeAfter(fd) { fd in
            let size = try Sys.status(fd).size
            guard size > 0 else { return true }
            var byte: [UInt8] = [0]
            _ = try byte.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: Int64(size - 1), into: $0) }
            return byte[0] == 0x0A
        }
    }

    /// Reads the last complete record's sequence from the file's tail.
    private func readLastSequence() throws -> UInt64 {
        let fd = try FileIO.openRead(path)
        return try FileIO.closeAfter(fd) { fd in
            let size = try Sys.status(fd).size
            let tail = min(size, 4096)
            var bytes = [UInt8](repeating: 0, count: Int(tail))
            _ = try bytes.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: Int64(size - tail), into: $0) }
            let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: true)
            let complete = bytes.last == 0x0A ? lines[...] : lines.dropLast()
            for line in complete.reversed() {
                if let entry = Self.parse(line) { return entry.sequence }
            }
            if tail < size {
                // A tail with no parseable record: fall back to a full read.
                return try readAll().entries.last?.sequence ?? 0
            }
            return 0
        }
    }

    private func readAll() throws -> (epoch: String, entries: [Entry]) {
        let bytes = try FileIO.readSmallFile(path, limit: 1 << 31)
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: true)
        guard let header = lines.first, let epoch = Self.epoch(fromHeader: Array(header)) else {
            throw StoreError(.corrupt, "change log header is damaged", path: path)
        }
        lines.removeFirst()
        if bytes.last != 0x0A, !lines.isEmpty { lines.removeLast() }  // torn final line
        return (epoch, lines.compactMap(Self.parse))
    }

    /// fsck's view of the log: one line per problem (a damaged header, sequence numbers that
    /// do not increase, a last sequence number that leaves no room for another change).
    func check() -> [String] {
        guard Sys.exists(path) else { return [] }
        let bytes: [UInt8]
        do { bytes = try FileIO.readSmallFile(path, limit: Self.checkLimit) } catch let error as StoreError {
            return ["cannot read the change log: \(error.message)"]
        } catch {
            return ["cannot read the change log: \(error)"]
        }
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: true)
        guard let header = lines.first, Self.epoch(fromHeader: Array(header)) != nil else {
            return ["change log header is damaged"]
        }
        lines.removeFirst()
        if bytes.last != 0x0A, !lines.isEmpty { lines.removeLast() }  // a torn final line is sealed on the next append
        var problems: [String] = []
        var previous: UInt64?
        for (number, line) in lines.enumerated() {
            guard let entry = Self.parse(line) else {
                problems.append("change log line \(number + 2) is not a valid record")
                continue
            }
            if let previous, entry.sequence <= previous {
                problems.append("change log line \(number + 2) has sequence \(entry.sequence), not above \(previous)")
            }
            previous = entry.sequence
            if problems.count >= 20 { break }
        }
        if previous == UInt64.max {
            problems.append("change log's last sequence number is \(UInt64.max): no change can be recorded after it")
        }
        return problems
    }

    static let checkLimit = 256 << 20

    static func parse(_ line: ArraySlice<UInt8>) -> Entry? {
        let fields = line.split(separator: 0x20)
        guard fields.count == 3 || fields.count == 4, let sequence = UInt64(String(decoding: fields[0], as: UTF8.self)),
              let ref = try? RefName(String(decoding: fields[1], as: UTF8.self)) else { return nil }
        func object(_ field: ArraySlice<UInt8>) -> ObjectID?? {
            let text = String(decoding: field, as: UTF8.self)
            if text == "-" { return .some(nil) }
            guard let id = ObjectID(text) else { return nil }
            return .some(id)
        }
        guard let target = object(fields[2]) else { return nil }
        guard fields.count == 4 else { return Entry(sequence: sequence, ref: ref, object: target) }
        guard let previous = object(fields[3]) else { return nil }
        return Entry(sequence: sequence, ref: ref, object: target, previous: previous, previousKnown: true)
    }
}

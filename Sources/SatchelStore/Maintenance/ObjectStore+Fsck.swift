/// One thing fsck found wrong.
public struct FsckProblem: Sendable, Equatable, CustomStringConvertible {
    /// What is wrong: `corrupt`, `truncated`, `wrong-name`, `bad-file`, `pack-index`, `pack`,
    /// `bad-ref`, `dangling-ref`, `missing-object`, `invalid-manifest`, `change-log`, `symlink`.
    public var kind: String
    /// The object ID, ref name or file the problem is about.
    public var object: String
    /// Where and why, one line.
    public var detail: String

    /// A problem.
    public init(kind: String, object: String, detail: String) {
        self.kind = kind
        self.object = object
        self.detail = detail
    }

    public var description: String { "\(kind) \(object): \(detail)" }
}

/// The result of ``ObjectStore/fsck(checkManifest:)``.
public struct FsckReport: Sendable {
    /// Distinct objects examined (loose and packed).
    public var objects: Int
    /// Everything found wrong, in the order found.
    public var problems: [FsckProblem]
    /// True when nothing is wrong.
    public var isClean: Bool { problems.isEmpty }
}

extension ObjectStore {
    /// Checks everything: rehashes every loose and packed object, checks pack and index
    /// checksums, that every ref points at an existing object and that every object a
    /// manifest mentions exists. `checkManifest` lets the layer above validate manifest
    /// content (schemas); it returns a problem description or nil.
    ///
    /// Safe on a live store. fsck holds gc's lease (gc and fsck never run at once: gc removes
    /// files fsck is reading), renewing it as it goes; it throws `.busy` when gc holds it beyond
    /// the wait. Writers go on meanwhile: an object or ref that appears after the scan is
    /// examined when something names it, so new work is never reported as damage.
    public func fsck(checkManifest: ((ObjectID, [UInt8]) -> String?)? = nil) throws -> FsckReport {
        let lock = try LeaseLock.acquire(root + "/tmp/gc.lock", tempDirectory: tempDirectory)
        defer { lock.release() }
        var renewed = Sys.monotonic()
        var leaseLost = false
        func keepLease() {
            guard Sys.monotonic() - renewed > lock.ttl / 4 else { return }
            do { try lock.renew() } catch { leaseLost = true }
            renewed = Sys.monotonic()
        }
        var problems: [FsckProblem] = []
        var good = Set<ObjectID>()
        /// Every object examined (intact or not): examined once.
        var seen = Set<ObjectID>()
        var mentionsBy: [ObjectID: [ObjectID]] = [:]

        func examine(_ id: ObjectID, what: String, _ read: (_ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> ObjectKind) {
            keepLease()
            seen.insert(id)
            var manifest: [UInt8] = []
            var isManifest: Bool?
            do {
                let kind = try read { chunk in
                    if isManifest != false { manifest.append(contentsOf: chunk) }
                    if manifest.count > 64 << 20 { isManifest = false; manifest = [] }
                }
                good.insert(id)
                if kind == .manifest {
                    mentionsBy[id, default: []] += References.scan(manifest)
                    if let check = checkManifest, let problem = check(id, manifest) {
                        problems.append(FsckProblem(kind: "invalid-manifest", object: id.description, detail: problem))
                    }
                }
            } catch let error as StoreError {
                problems.append(Self.problem(for: error, id: id, what: what))
            } catch {
                problems.append(FsckProblem(kind: "corrupt", object: id.description, detail: "\(what): \(error)"))
            }
        }

        // Loose objects, including files whose names are not object IDs.
        let fans = (try? Sys.list(objectsDirectory)) ?? []
        for fan in fans.sorted() {
            let fanPath = objectsDirectory + "/" + fan
            for rest in ((try? Sys.list(fanPath)) ?? []).sorted() {
                guard let id = ObjectID(hex: fan + rest) else {
                    problems.append(FsckProblem(kind: "bad-file", object: "objects/\(fan)/\(rest)",
                                                detail: "file name is not an object ID"))
                    continue
                }
                examine(id, what: "loose object objects/\(fan)/\(rest)") { sink in
                    try loose.read(id, into: sink).kind
                }
            }
        }

        // Packs: index checksums, pack checksum, then every entry.
        packSet.refresh()
        for (name, error) in packSet.loadProblems.sorted(by: { $0.key < $1.key }) {
            problems.append(FsckProblem(kind: "pack-index", object: "packs/\(name).idx", detail: error.message))
        }
        let packNames = Set((try? Sys.list(packsDirectory)) ?? [])
        // A pack without an index is the leftover of a writer stopped between publishing the
        // pack and its index: nothing can name its objects, so it is not damage (gc and the
        // next open after the grace period remove it).
        for pack in packSet.packs {
            if !packNames.contains(pack.name + ".pack") {
                problems.append(FsckProblem(kind: "pack", object: "packs/\(pack.name).pack",
                                            detail: "index present but pack file missing"))
                continue
            }
            do { try pack.verifyChecksum() } catch let error as StoreError {
                problems.append(FsckProblem(kind: "pack", object: "packs/\(pack.name).pack", detail: error.message))
            } catch {
                problems.append(FsckProblem(kind: "pack", object: "packs/\(pack.name).pack", detail: "\(error)"))
            }
            for location in pack.index.allEntries {
                examine(location.id, what: "packed object in \(pack.name)") { sink in
                    guard let result = try pack.read(location.id, into: sink) else {
                        throw StoreError(.notFound, "object vanished from its pack")
                    }
                    return result.kind
                }
            }
        }

        /// Whether `id` is intact, examining it now if the scan did not see it (a writer stored
        /// it after its part of the scan).
        func isGood(_ id: ObjectID) -> Bool {
            if !seen.contains(id) && contains(id) {
                examine(id, what: "object \(id) (stored during the check)") { sink in try self.read(id, into: sink).kind }
            }
            return good.contains(id)
        }

        // Refs.
        do {
            try refs.walkAll { relative in
                guard let name = try? RefName(relative) else {
                    problems.append(FsckProblem(kind: "bad-ref", object: "refs/\(relative)", detail: "not a valid ref name"))
                    return
                }
                do {
                    if let id = try refs.read(name), !isGood(id) {
                        problems.append(FsckProblem(kind: "dangling-ref", object: name.rawValue,
                                                    detail: "points at \(id), which is missing or damaged"))
                    }
                } catch let error as StoreError {
                    problems.append(FsckProblem(kind: "bad-ref", object: name.rawValue, detail: error.message))
                }
            }
        } catch {
            problems.append(FsckProblem(kind: "bad-ref", object: "refs", detail: "cannot list refs: \(error)"))
        }

        // Symlinks: nothing inside a store is one (a symlinked directory lets writes escape it).
        for link in symlinks(under: root, relative: "", depth: 0) {
            problems.append(FsckProblem(kind: "symlink", object: link,
                                        detail: "\(link) is a symbolic link; a store holds only real files and directories"))
        }

        // The change log: sync and every ref change depend on its sequence numbers.
        for detail in refs.changeLog.check() {
            problems.append(FsckProblem(kind: "change-log", object: "changes.log", detail: detail))
        }

        // Connectivity: what the manifests reachable from refs mention must exist. A manifest no
        // ref reaches (left by an interrupted write, or garbage) may mention objects that were
        // never stored: that is not damage, and gc removes it.
        var reached = Set<ObjectID>()
        var pending = ((try? refs.list()) ?? []).map(\.id)
        var reported = Set<ObjectID>()
        while let id = pending.popLast() {
            guard reached.insert(id).inserted else { continue }
            _ = isGood(id)  // a ref moved after the scan: read what it names now
            for mention in mentionsBy[id] ?? [] {
                if isGood(mention) {
                    pending.append(mention)
                } else if reported.insert(mention).inserted {
                    problems.append(FsckProblem(kind: "missing-object", object: mention.description,
                                                detail: "mentioned by manifest \(id) but missing or damaged"))
                }
            }
        }
        if leaseLost {
            throw StoreError(.busy, "fsck lost its lease on the store (it was not renewed in time); run it again", path: lock.path)
        }
        return FsckReport(objects: good.count + Set(problems.compactMap { ObjectID($0.object) }).subtracting(good).count,
                          problems: problems)
    }

    /// Relative paths of the symbolic links under `path` (not following them).
    private func symlinks(under path: String, relative: String, depth: Int) -> [String] {
        guard depth < 32 else { return [] }
        var found: [String] = []
        for name in ((try? Sys.list(path)) ?? []).sorted() {
            let full = path + "/" + name
            let rel = relative.isEmpty ? name : relative + "/" + name
            guard let status = try? Sys.linkStatus(full) else { continue }
            if status.isSymlink {
                found.append(rel)
            } else if status.isDirectory {
                found += symlinks(under: full, relative: rel, depth: depth + 1)
            }
        }
        return found
    }

    static func problem(for error: StoreError, id: ObjectID, what: String) -> FsckProblem {
        let kind: String
        if error.code == .truncated {
            kind = "truncated"
        } else if error.message.contains("hashes to") {
            kind = "wrong-name"
        } else {
            kind = "corrupt"
        }
        return FsckProblem(kind: kind, object: id.description, detail: "\(what): \(error.message)")
    }
}

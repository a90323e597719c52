/// How the store finds the objects a manifest points at without knowing any vocabulary: every
/// manifest names the objects it depends on by writing their IDs as `sha256:<64 hex>`. Scanning
/// for that token is conservative (a mention keeps an object alive), which is what gc wants.
public enum References {
    /// Object IDs written in `payload` as `sha256:<64 lowercase hex>`.
    public static func scan(_ payload: [UInt8]) -> [ObjectID] {
        let prefix = Array("sha256:".utf8)
        var found: [ObjectID] = []
        var i = 0
        let end = payload.count - prefix.count - 64
        guard end >= 0 else { return [] }
        while i <= end {
            if payload[i] == 0x73, payload[(i)..<(i + prefix.count)].elementsEqual(prefix) {
                let hexStart = i + prefix.count
                let hex = payload[hexStart..<(hexStart + 64)]
                if hex.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
                   let id = ObjectID(hex: String(decoding: hex, as: UTF8.self)) {
                    found.append(id)
                    i = hexStart + 64
                    continue
                }
            }
            i += 1
        }
        return found
    }
}

extension ObjectStore {
    /// What ``walk(from:skipping:missing:visit:)`` does with an object it cannot find.
    public enum MissingObjects: Sendable {
        /// Throw `.notFound` naming it (a bundle or backup must be complete).
        case fail
        /// Go on without it (gc: nothing to keep; a base archive's objects gc removed since).
        /// It is in the returned set, never visited.
        case skip
    }

    /// The one reachability walk (gc's mark, backups, bundles and have-lists use it): every
    /// object reachable from `roots` through manifest mentions (``References``), each visited
    /// once, depth first. Objects in `skipping` are neither visited nor followed (what the peer
    /// or the base archive already holds, with all they reach). Manifests are read whole and
    /// verified (at most ``manifestReadLimit``); `visit` gets their bytes, so a caller that copies them never
    /// reads them twice; other objects are only looked up (`info`). Returns every object
    /// reached. Errors: the store's own, with the object named (`.notFound` with `.fail`,
    /// `.corrupt`/`.truncated` for damage, `.tooLarge` for a manifest over the limit).
    @discardableResult
    public func walk(from roots: [ObjectID], skipping: Set<ObjectID> = [], missing: MissingObjects = .fail,
                     visit: (_ id: ObjectID, _ kind: ObjectKind, _ length: UInt64, _ manifest: [UInt8]?) throws -> Void = { _, _, _, _ in })
        throws -> Set<ObjectID>
    {
        var seen = Set<ObjectID>()
        var pending = roots
        while let id = pending.popLast() {
            guard !skipping.contains(id), seen.insert(id).inserted else { continue }
            let info: (kind: ObjectKind, length: UInt64)
            do { info = try self.info(id) } catch let error as StoreError where error.code == .notFound {
                if missing == .skip { continue }
                throw StoreError(.notFound, "object \(id) is reachable but not in the store", object: id, cause: error)
            } catch var error as StoreError {
                if error.object == nil { error.object = id }
                throw error
            }
            var manifest: [UInt8]?
            if info.kind == .manifest {
                let bytes: [UInt8]
                do { bytes = try read(id, limit: Self.manifestReadLimit).bytes } catch var error as StoreError {
                    if error.object == nil { error.object = id }
                    throw error
                }
                manifest = bytes
                for next in References.scan(bytes) where !seen.contains(next) && !skipping.contains(next) {
                    pending.append(next)
                }
            }
            try visit(id, info.kind, info.length, manifest)
        }
        return seen
    }
}

// Corruption trials: a bit flipped or a file cut in a store, bundle or backup (see main.swift).
import Foundation
import SatchelStore

/// Flips a random bit or cuts a random file among `files`; returns what it did.
func damage(_ files: [String], _ rng: inout SplitMix64) -> String? {
    let candidates = files.filter { ((try? FileManager.default.attributesOfItem(atPath: $0))?[.size] as? Int ?? 0) > 0 }
    guard !candidates.isEmpty else { return nil }
    let path = candidates[rng.below(candidates.count)]
    guard var data = FileManager.default.contents(atPath: path) else { return nil }
    let size = data.count
    let cut = rng.below(4) == 0
    if cut {
        let length = rng.below(size)
        data = data.prefix(length)
        try? FileManager.default.removeItem(atPath: path)
        _ = FileManager.default.createFile(atPath: path, contents: data)
        return "\(path) cut from \(size) to \(length) bytes"
    }
    let offset = rng.below(size)
    let bit = UInt8(1) << UInt8(rng.below(8))
    data[offset] ^= bit
    try? FileManager.default.removeItem(atPath: path)
    _ = FileManager.default.createFile(atPath: path, contents: data)
    return "\(path) bit \(bit) at offset \(offset) of \(size)"
}

func files(under root: String) -> [String] {
    var result: [String] = []
    let enumerator = FileManager.default.enumerator(atPath: root)
    while let rel = enumerator?.nextObject() as? String {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: root + "/" + rel, isDirectory: &isDir), !isDir.boolValue { result.append(root + "/" + rel) }
    }
    return result.sorted()
}

func snapshot(_ root: String) -> [String: Data] {
    var result: [String: Data] = [:]
    for path in files(under: root) where !path.contains("/tmp/") { result[path] = FileManager.default.contents(atPath: path) }
    return result
}

/// Counts for the corruption summary.
struct CorruptionCounts { var store = 0, bundle = 0, backup = 0, sync = 0, detected = 0, harmless = 0 }

@MainActor func corruptTrial(_ runner: Runner, _ template: Template, _ dir: String, _ rng: inout SplitMix64,
                  _ counts: inout CorruptionCounts) -> (String, String?) {
    do { try template.copy(to: dir) } catch { return ("setup", "\(error)") }
    let fm = FileManager.default
    switch rng.below(4) {
    case 3:
        // A damaged store syncing with a clean peer: the damage must stop at the sender.
        counts.sync += 1
        let targets = files(under: dir + "/ws").filter { $0.contains("/objects/") || $0.contains("/packs/") || $0.contains("/refs/") }
        guard let what = damage(targets, &rng) else { return ("sync", "nothing to damage") }
        let label = "sync: \(what)"
        let damaged = runner.run(["fsck", "--store", dir + "/ws"]).status != 0
        let sync = runner.run(["sync", dir + "/peer", "--store", dir + "/ws"])
        let peerFsck = runner.run(["fsck", "--store", dir + "/peer"])
        guard peerFsck.status == 0 else { return (label, "the damage reached the peer: fsck exit \(peerFsck.status): \(peerFsck.stdout.prefix(300))") }
        if sync.status != 0 {
            // Refused: the peer (fsck clean, checked above) still reads its own thread.
            guard threadCount(runner, dir + "/peer") >= 1 else { return (label, "after a refused sync the peer cannot list its thread") }
            counts.detected += 1
            return (label, nil)
        }
        if damaged {
            // The sync succeeded although the store was damaged: allowed only when the damage
            // was outside what the sync carried, and then the peer must read the thread intact.
            guard let shown = threadShow(runner, dir + "/peer", template.thread),
                  ((shown["messages"] as? [Any])?.count ?? 0) >= 1 else {
                return (label, "sync exited 0 from a damaged store and the peer cannot read the thread")
            }
            counts.detected += 1
        } else {
            counts.harmless += 1
        }
        return (label, nil)
    case 0:
        counts.store += 1
        // Objects, packs, indexes and refs: everything fsck vouches for.
        let targets = files(under: dir + "/ws").filter { $0.contains("/objects/") || $0.contains("/packs/") || $0.contains("/refs/") }
        guard let what = damage(targets, &rng) else { return ("store", "nothing to damage") }
        let label = "store: \(what)"
        let fsck = runner.run(["fsck", "--store", dir + "/ws", "--json"])
        if fsck.status == 0 && what.contains("/objects/") && what.contains("bit") {
            // A flipped padding bit after the final deflate block of a loose object changes no
            // information: zlib's Adler-32 and the object ID check the decoded content, intact.
            counts.harmless += 1
            return (label, nil)
        }
        guard fsck.status == 1 else { return (label, "fsck exit \(fsck.status), expected 1: \(fsck.stderr.prefix(200))") }
        guard fsck.stdout.contains("sha256:") || fsck.stdout.contains("packs/") || fsck.stdout.contains("refs") || fsck.stdout.contains("threads/") || fsck.stdout.contains("directory") else {
            return (label, "fsck does not name the object or file: \(fsck.stdout.prefix(300))")
        }
        counts.detected += 1
        // gc must never turn the damage into a deletion of intact objects.
        let before = Set(files(under: dir + "/ws/objects") + files(under: dir + "/ws/packs"))
        _ = runner.run(["gc", "--store", dir + "/ws", "--grace-hours", "0"])
        let after = Set(files(under: dir + "/ws/objects") + files(under: dir + "/ws/packs"))
        let gone = before.subtracting(after)
        if !gone.isEmpty {
            // Allowed only when gc ran to completion, i.e. it could read every manifest: then
            // every intact reachable object must still read.
            let recheck = runner.run(["fsck", "--store", dir + "/ws", "--json"])
            if recheck.stdout.contains("missing-object") && !fsck.stdout.contains("missing-object") {
                return (label, "gc removed \(gone.count) file(s) and objects went missing")
            }
        }
        return (label, nil)
    case 1:
        counts.bundle += 1
        let bundle = dir + "/peer.bundle"
        try? fm.copyItem(atPath: template.root + "/peer.bundle", toPath: bundle)
        guard let what = damage([bundle], &rng) else { return ("bundle", "nothing to damage") }
        let label = "bundle: \(what)"
        let before = snapshot(dir + "/ws")
        let verify = runner.run(["bundle", "verify", bundle, "--store", dir + "/ws"])
        let apply = runner.run(["bundle", "apply", bundle, "--store", dir + "/ws"])
        if verify.status == 0 && apply.status == 0 {
            // Only acceptable if the damage did not change the bundle (impossible with a flip).
            return (label, "damaged bundle verified and applied (exit 0)")
        }
        guard apply.status == 65 || apply.status == 1 else { return (label, "apply exit \(apply.status), expected 65: \(apply.stderr.prefix(200))") }
        guard snapshot(dir + "/ws") == before else { return (label, "refused apply changed the store") }
        counts.detected += 1
        return (label, nil)
    default:
        counts.backup += 1
        let archive = dir + "/ws.backup"
        try? fm.copyItem(atPath: template.root + "/ws.backup", toPath: archive)
        guard let what = damage([archive], &rng) else { return ("backup", "nothing to damage") }
        let label = "backup: \(what)"
        let verify = runner.run(["backup", "verify", archive])
        guard verify.status == 1 || verify.status == 65 else {
            return (label, "verify exit \(verify.status), expected 1: \(verify.stdout.prefix(200)) \(verify.stderr.prefix(200))")
        }
        let restore = runner.run(["backup", "restore", archive, dir + "/restored"])
        guard restore.status != 0 else { return (label, "damaged archive restored (exit 0)") }
        guard !fm.fileExists(atPath: dir + "/restored/config.xml") else { return (label, "refused restore left a store") }
        counts.detected += 1
        return (label, nil)
    }
}

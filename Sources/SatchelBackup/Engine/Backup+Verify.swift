import Foundation
import SatchelManifest
import SatchelStore

extension Backup {
    /// What ``verify(_:passphrase:bases:)`` found.
    public struct VerifyReport: Sendable, Equatable {
        /// The archive file verified.
        public var path: String
        /// The archive's ID, once its header could be read.
        public var archive: String?
        /// The base archive's ID, for an incremental.
        public var base: String?
        /// Whether the archive is encrypted.
        public var encrypted = false
        /// Objects checked.
        public var objects = 0
        /// Refs in the archive's snapshot.
        public var refs = 0
        /// Size of the archive file in bytes.
        public var bytes: UInt64 = 0
        /// One line per problem; empty when the archive is intact.
        public var problems: [String] = []
        /// Set when completeness could not be checked (an incremental verified without its chain).
        public var note: String?
        /// True when no problem was found.
        public var isClean: Bool { problems.isEmpty }
    }

    /// Reads the whole archive back: trailing checksum, header, passphrase and header MAC, every
    /// chunk's tag, every object's hash, the pack's count and checksum, and that every object
    /// the ref snapshot reaches is present (in this archive, or in `bases` for an incremental).
    /// Damage is reported, not thrown; a missing archive (`.notFound`) and a missing or wrong
    /// passphrase (`.passphrase`) are thrown.
    public static func verify(_ path: String, passphrase: Passphrase?, bases: [String] = []) throws -> VerifyReport {
        var report = VerifyReport(path: path)
        let archive: OpenedArchive
        do { archive = try OpenedArchive.open(path, passphrase: passphrase) } catch let error as BackupError where error.code == .damaged {
            report.problems.append(error.message)
            return report
        }
        report.archive = archive.header.archive
        report.base = archive.header.base
        report.encrypted = archive.isEncrypted
        report.refs = archive.header.refs.count
        report.bytes = archive.size
        var contents: Contents
        do { contents = try scan(archive) } catch let error as BackupError where error.code == .damaged {
            report.problems.append(error.message)
            return report
        }
        report.objects = contents.ids.count
        if archive.header.base != nil {
            guard !bases.isEmpty else {
                report.note = "incremental on \(archive.header.base!): pass the base archives with --base to check completeness"
                return report
            }
            let opened = try bases.map { try OpenedArchive.open($0, passphrase: passphrase) }
            do {
                for base in try chain(archive, bases: opened).dropLast() {
                    let more = try scan(base)
                    contents.ids.formUnion(more.ids)
                    contents.mentions += more.mentions
                }
            } catch let error as BackupError where error.code == .damaged {
                report.problems.append(error.message)
                return report
            }
        }
        if !contents.ids.contains(archive.header.config) {
            report.problems.append("config blob \(archive.header.config) is missing")
        }
        for ref in archive.header.refs where !contents.ids.contains(ref.object) {
            report.problems.append("ref \(ref.name) points at \(ref.object), which is missing")
        }
        for (by, id) in contents.mentions where !contents.ids.contains(id) {
            report.problems.append("object \(id), mentioned by \(by), is missing")
            if report.problems.count > 100 { break }
        }
        return report
    }

    struct Contents {
        var ids = Set<ObjectID>()
        var mentions: [(by: ObjectID, id: ObjectID)] = []
    }

    /// Streams an archive's pack: hashes every object, checks count and pack checksum, and
    /// collects the objects manifests mention. Any damage is `.damaged`.
    static func scan(_ archive: OpenedArchive) throws -> Contents {
        var contents = Contents()
        do {
            let reader = try archive.packReader()
            var buffer = [UInt8](repeating: 0, count: 256 << 10)
            while let entry = try reader.next() {
                var manifest: [UInt8] = []
                let keep = entry.kind == .manifest && entry.length <= 64 << 20
                while true {
                    let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
                    if n == 0 { break }
                    if keep { manifest.append(contentsOf: buffer[0..<n]) }
                }
                guard let id = reader.lastID else { throw BackupError.damaged("pack entry \(reader.count) did not end cleanly") }
                contents.ids.insert(id)
                if keep { contents.mentions += References.scan(manifest).map { (id, $0) } }
            }
            try reader.finish()
            guard reader.count == archive.header.objects else {
                throw BackupError.damaged("archive header says \(archive.header.objects) objects but the pack holds \(reader.count)")
            }
        } catch let error as StoreError {
            throw BackupError.damaged("\(archive.path): \(error.message)")
        }
        return contents
    }

    /// Orders an archive and its bases into a chain, oldest (the full archive) first.
    static func chain(_ archive: OpenedArchive, bases: [OpenedArchive]) throws -> [OpenedArchive] {
        var byID: [String: OpenedArchive] = [:]
        for base in bases { byID[base.header.archive] = base }
        var chain = [archive]
        var used = Set<String>()
        while let next = chain.last!.header.base {
            guard let base = byID[next] else {
                throw BackupError(.notFound,
                                  "archive \(chain.last!.header.archive) is incremental on \(next): pass that archive with --base FILE")
            }
            guard used.insert(next).inserted else { throw BackupError.damaged("archive chain has a loop at \(next)") }
            guard base.header.source == archive.header.source else {
                throw BackupError(.usage, "base archive \(base.path) is of replica \(base.header.source), not \(archive.header.source)")
            }
            chain.append(base)
        }
        for base in bases where !used.contains(base.header.archive) {
            throw BackupError(.usage, "\(base.path) (archive \(base.header.archive)) is not part of this archive's chain")
        }
        return chain.reversed()
    }
}

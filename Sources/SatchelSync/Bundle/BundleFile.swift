import Crypto
import Foundation
import SatchelManifest
import SatchelStore
import SystemPackage

/// The bundle file layout (docs/FORMAT.md, "Bundles"):
///
/// ```
/// 0    8  magic "SATCHBDL"
/// 8    4  format version = 1
/// 12   4  header length H
/// 16   H  header: canonical XML, vocabulary urn:satchel:bundle:1
/// 16+H …  a pack (SPAK format, with its own trailer), no index
/// end-32  SHA-256 of every preceding byte
/// ```
enum BundleFile {
    static let magic: [UInt8] = Array("SATCHBDL".utf8)
    static let version: UInt32 = 1
    static let prefixSize = 16
    static let maxHeaderBytes = 64 << 20
    /// Capabilities this build understands; a bundle naming any other is refused.
    static let capabilities: Set<String> = ["threads-1", "envelopes-1", "drafts-1", "checkpoints-1"]

    /// Writes header + pack + checksum to `path` atomically (temp → fsync → rename).
    static func write(header: BundleHeader, packPath: String, to path: String) throws -> UInt64 {
        let headerBytes = try header.encoded()
        var prefix = magic
        BigEndian.append(&prefix, version)
        BigEndian.append(&prefix, UInt32(headerBytes.count))
        let directory = (path as NSString).deletingLastPathComponent
        let temp = (directory.isEmpty ? "." : directory) + "/.satchel-bundle-" + UUID().uuidString + ".tmp"
        var sha = SHA256()
        var total: UInt64 = 0
        do {
            let out = try FileDescriptor.open(FilePath(temp), .writeOnly, options: [.create, .exclusiveCreate, .closeOnExec],
                                              permissions: [.ownerReadWrite, .groupRead, .otherRead])
            defer { try? out.close() }
            func emit(_ bytes: UnsafeRawBufferPointer) throws {
                sha.update(bufferPointer: bytes)
                var offset = 0
                while offset < bytes.count { offset += try out.write(UnsafeRawBufferPointer(rebasing: bytes[offset...])) }
                total += UInt64(bytes.count)
            }
            try (prefix + headerBytes).withUnsafeBytes { try emit($0) }
            let pack = try FileDescriptor.open(FilePath(packPath), .readOnly, options: [.closeOnExec])
            defer { try? pack.close() }
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = try buffer.withUnsafeMutableBytes { try pack.read(into: $0) }
                if n == 0 { break }
                try buffer.withUnsafeBytes { try emit(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
            let digest = Array(sha.finalize())
            try digest.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count { offset += try out.write(UnsafeRawBufferPointer(rebasing: raw[offset...])) }
            }
            total += 32
            try Durability.sync(out)
            try FileManager.default.moveItem(atPath: temp, toPath: path)
            try Durability.syncDirectory(directory.isEmpty ? "." : directory)
        } catch {
            try? FileManager.default.removeItem(atPath: temp)
            if (error as? CocoaError)?.code == .fileWriteFileExists {
                throw SyncError(.badInput, "\(path) already exists")
            }
            throw error
        }
        return total
    }

    /// An opened, checksum-verified bundle: its header and where its pack lies.
    struct Opened {
        let fd: FileDescriptor
        let header: BundleHeader
        let packOffset: Int64
        let packEnd: Int64
        let bytes: UInt64

        func close() { try? fd.close() }
    }

    /// Opens a bundle: checks magic, version, the trailing checksum over the whole file, the
    /// header's schema and its capabilities. Any damage is `.badInput` naming what failed.
    static func open(_ path: String) throws -> Opened {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec]) } catch {
            throw SyncError(.notFound, "cannot open bundle \(path)")
        }
        do {
            let size = try fd.seek(offset: 0, from: .end)
            guard size >= Int64(prefixSize + 32) else { throw SyncError(.badInput, "bundle \(path) is truncated") }
            var prefix = [UInt8](repeating: 0, count: prefixSize)
            _ = try prefix.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: 0, into: $0) }
            guard Array(prefix[0..<8]) == magic else { throw SyncError(.badInput, "\(path) is not a Satchel bundle") }
            let fileVersion = prefix.withUnsafeBytes { BigEndian.uint32($0, at: 8) }
            guard fileVersion == version else {
                throw SyncError(.badInput, "bundle format version \(fileVersion) is not supported (this build reads \(version))")
            }
            let headerLength = Int(prefix.withUnsafeBytes { BigEndian.uint32($0, at: 12) })
            guard headerLength <= maxHeaderBytes, Int64(prefixSize + headerLength + 32) <= size else {
                throw SyncError(.badInput, "bundle header length is impossible (truncated or tampered)")
            }
            // Trailing checksum over everything before it.
            var sha = SHA256()
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var position: Int64 = 0
            let body = size - 32
            while position < body {
                let want = Int(min(Int64(buffer.count), body - position))
                let n = try buffer.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: position, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want])) }
                if n == 0 { throw SyncError(.badInput, "bundle is truncated") }
                buffer.withUnsafeBytes { sha.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                position += Int64(n)
            }
            var trailer = [UInt8](repeating: 0, count: 32)
            _ = try trailer.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: body, into: $0) }
            guard Array(sha.finalize()) == trailer else {
                throw SyncError(.badInput, "bundle checksum does not match: the file is damaged, truncated or tampered with")
            }
            var headerBytes = [UInt8](repeating: 0, count: headerLength)
            _ = try headerBytes.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: Int64(prefixSize), into: $0) }
            let header: BundleHeader
            do { header = try BundleHeader.decode(headerBytes, trust: .untrusted) } catch {
                throw SyncError(.badInput, "bundle header is invalid: \(error)")
            }
            for capability in header.capabilities where !capabilities.contains(capability) {
                throw SyncError(.badInput, "bundle needs capability '\(capability)', which this build does not have; upgrade Satchel")
            }
            return Opened(fd: fd, header: header, packOffset: Int64(prefixSize + headerLength), packEnd: body, bytes: UInt64(size))
        } catch {
            try? fd.close()
            throw error
        }
    }
}

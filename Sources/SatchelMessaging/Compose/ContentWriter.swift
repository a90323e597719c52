import Foundation
import SatchelManifest
import SatchelStore
import SystemPackage
import Crypto
import Synchronization

/// Streams bodies and attachments into a batch (content addressed: stored once however many
/// messages refer to it) and returns the references manifests record.
struct ContentWriter {
    let batch: ObjectBatch
    let tempDirectory: String
    /// Told how many file bytes have streamed in so far (all files of this writer together).
    var progress: ProgressHandler? = nil
    /// Bytes of all files this writer will stream, if known (for a progress bar).
    var progressTotal: UInt64? = nil
    private let streamed = ByteCounter()

    /// Rich text is sanitized through libxml2 before it is stored, and every view sanitizes
    /// and holds it in memory: a rich body over 16 MiB is refused (65) at compose.
    static let richBodyLimit = 16 << 20
    /// A plain body over the limit a message view can show (``Repository/viewBodyLimit``,
    /// 256 MiB) is refused at compose: the thread would be stored but never readable.
    static var plainBodyLimit: Int { Repository.viewBodyLimit }

    static func checkBodySize(_ size: UInt64, rich: Bool, what: String) throws {
        let limit = rich ? richBodyLimit : plainBodyLimit
        guard size <= UInt64(limit) else {
            throw MessagingError(.invalidInput,
                                 "\(what) is \(size) bytes, over the \(limit >> 20) MiB limit for a \(rich ? "rich" : "plain") message body; send large content as an attachment")
        }
    }

    func body(_ input: BodyInput, rich: Bool) throws -> BodyReference {
        let format: BodyReference.Format = rich ? .rich : .plain
        switch input {
        case .stored(let reference):
            guard batch.contains(reference.object) else {
                throw MessagingError.notFound("body object \(reference.object.short) is not in the store")
            }
            return reference
        case .text(let text):
            try Self.checkBodySize(UInt64(text.utf8.count), rich: rich, what: "the body")
            let bytes = rich ? Array(try RichText.sanitize(text).utf8) : Array(text.utf8)
            return BodyReference(object: try batch.put(.blob, bytes), format: format, length: UInt64(bytes.count))
        case .file(let path):
            let (fd, size) = try Self.openInput(path, what: "body file")
            try? fd.close()
            try Self.checkBodySize(size, rich: rich, what: "body file \(path)")
            if rich {
                // Sanitize as it streams into a temp file, then store that. A temp file left by
                // a killed process is removed by the next open of the store (ObjectStore).
                let temp = tempDirectory + "/rich-" + Identifier.make("") + ".tmp"
                defer { try? LocalFiles.remove(temp) }
                try RichText.sanitizeFile(at: path, to: temp, mode: .ephemeral)
                let (id, length) = try putFile(temp, what: "body file")
                return BodyReference(object: id, format: .rich, length: length)
            }
            let (id, length) = try putFile(path, what: "body file")
            return BodyReference(object: id, format: .plain, length: length)
        }
    }

    func attachment(_ input: AttachmentInput, taken: Set<String>) throws -> AttachmentReference {
        switch input {
        case .stored(var reference):
            guard batch.contains(reference.object) else {
                throw MessagingError.notFound("attachment object \(reference.object.short) is not in the store")
            }
            reference.name = AttachmentNames.unique(AttachmentNames.sanitize(reference.name), among: taken)
            return reference
        case .file(let path, let name):
            let clean = AttachmentNames.unique(AttachmentNames.sanitize(name ?? path), among: taken)
            var digest = SHA256()
            let (id, size) = try putFile(path, what: "attachment") { digest.update(bufferPointer: $0) }
            return AttachmentReference(name: clean, mediaType: AttachmentNames.mediaType(for: clean), size: size, object: id,
                                       sha256: ObjectID(digest: digest.finalize()).hex)
        }
    }

    /// Streams a file into the batch with bounded memory; `observe` sees every byte read.
    private func putFile(_ path: String, what: String,
                         observe: ((UnsafeRawBufferPointer) -> Void)? = nil) throws -> (ObjectID, UInt64) {
        let (fd, size) = try Self.openInput(path, what: what)
        defer { try? fd.close() }
        let progress = self.progress, streamed = self.streamed, total = self.progressTotal
        var source = ObservedSource(base: FileSource(fd)) { bytes in
            observe?(bytes)
            if let progress {
                streamed.add(bytes.count)
                progress(ProgressEvent(phase: "storing content", completed: streamed.value, total: total, unit: .bytes))
            }
        }
        return (try batch.put(.blob, length: size, from: &source), size)
    }
}

extension ContentWriter {
    /// Opens a body or attachment file: regular files only (a FIFO would block, a device
    /// could stream forever), errors naming the path: missing 66, anything else 65.
    static func openInput(_ path: String, what: String) throws -> (FileDescriptor, UInt64) {
        do { return try InputFile.open(path) } catch let error as StoreError {
            if error.code == .notFound { throw MessagingError.notFound("\(what) \(path) does not exist") }
            if error.code == .invalidArgument { throw MessagingError(.invalidInput, "\(what) \(error.message)") }
            throw error
        }
    }
}

/// Passes reads through, showing each piece to an observer (to hash content as it streams).
struct ObservedSource<Base: ByteSource>: ByteSource {
    var base: Base
    let observe: ((UnsafeRawBufferPointer) -> Void)?

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try base.read(into: buffer)
        if n > 0 { observe?(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) }
        return n
    }
}

extension ContentWriter {
    /// Total size of the files among these inputs (what a progress bar counts up to).
    static func fileBytes(body: BodyInput?, attachments: [AttachmentInput]) -> UInt64 {
        var paths: [String] = []
        if case .file(let path)? = body { paths.append(path) }
        for case .file(let path, _) in attachments { paths.append(path) }
        return paths.reduce(0) { sum, path in
            let size = InputFile.size(path) ?? 0
            return sum.addingReportingOverflow(size).overflow ? sum : sum + size
        }
    }
}

/// A running byte count shared by the copies of a ``ContentWriter``.
final class ByteCounter: Sendable {
    private let state = Mutex<UInt64>(0)
    var value: UInt64 { state.withLock { $0 } }
    func add(_ n: Int) { state.withLock { $0 += UInt64(n) } }
}

import Foundation
import SatchelManifest
import SatchelStore
import SystemPackage

/// Streams bodies and attachments into a batch (content addressed: stored once however many
/// messages refer to it) and returns the references manifests record.
struct ContentWriter {
    let batch: ObjectBatch
    let tempDirectory: String

    func body(_ input: BodyInput, rich: Bool) throws -> BodyReference {
        let format: BodyReference.Format = rich ? .rich : .plain
        switch input {
        case .stored(let reference):
            guard batch.contains(reference.object) else {
                throw MessagingError.notFound("body object \(reference.object.short) is not in the store")
            }
            return reference
        case .text(let text):
            let bytes = rich ? Array(try RichText.sanitize(text).utf8) : Array(text.utf8)
            return BodyReference(object: try batch.put(.blob, bytes), format: format, length: UInt64(bytes.count))
        case .file(let path):
            if rich {
                // Sanitize as it streams into a temp file, then store that.
                let temp = tempDirectory + "/rich-" + Identifier.make("") + ".tmp"
                defer { try? FileManager.default.removeItem(atPath: temp) }
                try RichText.sanitizeFile(at: path, to: temp)
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
            let (id, size) = try putFile(path, what: "attachment")
            return AttachmentReference(name: clean, mediaType: AttachmentNames.mediaType(for: clean), size: size, object: id)
        }
    }

    /// Streams a file into the batch with bounded memory.
    private func putFile(_ path: String, what: String) throws -> (ObjectID, UInt64) {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec]) } catch {
            throw MessagingError.notFound("\(what) \(path) cannot be opened (\(error))")
        }
        defer { try? fd.close() }
        let size: UInt64
        do {
            let end = try fd.seek(offset: 0, from: .end)
            _ = try fd.seek(offset: 0, from: .start)
            size = UInt64(end)
        } catch {
            throw MessagingError(.invalidInput, "\(what) \(path) is not a regular file")
        }
        var source = FileSource(fd)
        return (try batch.put(.blob, length: size, from: &source), size)
    }
}

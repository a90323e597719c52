/// Attachment file names and media types.
///
/// A name comes from outside (a file path, a patient's chart, a bundle) and ends up in
/// headers, downloads and `attachment get`: it is reduced to its last path component, control
/// and separator characters are dropped, leading dots and spaces are removed, and it is capped
/// at 200 bytes, so `../../x`, `/etc/passwd` or a name with a newline can never address a file.
public enum AttachmentNames {
    public static let maxBytes = 200

    public static func sanitize(_ raw: String) -> String {
        let lastComponent = raw.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var cleaned = String(String.UnicodeScalarView(lastComponent.unicodeScalars.filter { scalar in
            !(scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
              || scalar == "\u{2028}" || scalar == "\u{2029}" || scalar == "\u{202E}" || scalar == "\u{202D}")
        }))
        while let first = cleaned.first, first == "." || first == " " { cleaned.removeFirst() }
        while let last = cleaned.last, last == " " || last == "." { cleaned.removeLast() }
        while cleaned.utf8.count > maxBytes { cleaned.removeLast() }
        return cleaned.isEmpty ? "attachment" : cleaned
    }

    /// Makes `name` distinct from `taken` by adding " (2)", " (3)"… before the extension.
    public static func unique(_ name: String, among taken: Set<String>) -> String {
        guard taken.contains(name) else { return name }
        let (stem, ext) = split(name)
        var n = 2
        while true {
            let candidate = "\(stem) (\(n))\(ext)"
            if !taken.contains(candidate) { return candidate }
            n += 1
        }
    }

    static func split(_ name: String) -> (stem: String, ext: String) {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return (name, "") }
        return (String(name[..<dot]), String(name[dot...]))
    }

    static let mediaTypes: [String: String] = [
        "pdf": "application/pdf", "txt": "text/plain", "csv": "text/csv", "html": "text/html",
        "htm": "text/html", "xml": "application/xml", "json": "application/json",
        "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif",
        "webp": "image/webp", "heic": "image/heic", "tif": "image/tiff", "tiff": "image/tiff",
        "dcm": "application/dicom", "doc": "application/msword",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls": "application/vnd.ms-excel",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "rtf": "application/rtf", "zip": "application/zip", "mp4": "video/mp4", "mov": "video/quicktime",
        "mp3": "audio/mpeg", "wav": "audio/wav", "ics": "text/calendar",
    ]

    /// Media type from the extension; `application/octet-stream` when unknown.
    public static func mediaType(for name: String) -> String {
        let ext = split(name).ext.dropFirst().lowercased()
        return mediaTypes[ext] ?? "application/octet-stream"
    }
}

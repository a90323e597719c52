/// Attachment file names and media types.
///
/// A name comes from outside (a file path, a patient's chart, a bundle) and ends up in
/// headers, downloads and `attachment get`: it is reduced to its last path component, control,
/// separator and invisible format characters (bidi overrides and isolates, zero-width) are
/// dropped, leading dots and spaces are removed, and it is capped at 200 bytes, so `../../x`,
/// `/etc/passwd` or a name with a newline can never address a file.
public enum AttachmentNames {
    /// The longest name kept, in UTF-8 bytes.
    public static let maxBytes = 200

    /// Reduces `raw` to a safe file name as described above (trailing dots and spaces go too);
    /// `attachment` when nothing is left.
    public static func sanitize(_ raw: String) -> String {
        let lastComponent = raw.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var cleaned = String(String.UnicodeScalarView(lastComponent.unicodeScalars.filter { !isInvisible($0) }))
        while let first = cleaned.first, first == "." || first == " " { cleaned.removeFirst() }
        while let last = cleaned.last, last == " " || last == "." { cleaned.removeLast() }
        if cleaned.utf8.count > maxBytes { cleaned = truncate(cleaned) }
        return cleaned.isEmpty ? "attachment" : cleaned
    }

    /// Longest extension kept when a long name is cut (".docx", ".jpeg", ".tar.gz"-like tails).
    static let maxExtensionBytes = 16

    /// Cuts `name` to ``maxBytes`` from the stem, so `…long report.pdf` stays a `.pdf`.
    static func truncate(_ name: String) -> String {
        var (stem, ext) = split(name)
        if ext.utf8.count > maxExtensionBytes || ext.utf8.count >= maxBytes { (stem, ext) = (name, "") }
        while stem.utf8.count + ext.utf8.count > maxBytes, !stem.isEmpty { stem.removeLast() }
        while let last = stem.last, last == " " || last == "." { stem.removeLast() }
        if stem.isEmpty { stem = "attachment" }
        return stem + ext
    }

    /// Control characters (C0, DEL, C1), line and paragraph separators, and every format
    /// character (Unicode Cf): all bidi overrides, embeddings and isolates (U+202A–202E,
    /// U+2066–2069), marks (U+200E/F, U+061C), zero-width characters and BOM. Any of these can
    /// make `invoice\u{2067}fdp.exe` look like a PDF, or hide part of a name.
    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: true
        default: false
        }
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

import Foundation

/// Snapshots of a directory tree, to prove that a refused or failed operation changed nothing.
public enum FileTree {
    /// Every regular file under `directory`, by path relative to it, with its bytes (empty when
    /// unreadable). Paths starting with `excludedPrefix` (e.g. `tmp/`) are left out.
    public static func snapshot(_ directory: String, excluding excludedPrefix: String? = nil) -> [String: Data] {
        var result: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let relative = enumerator?.nextObject() as? String {
            if let excludedPrefix, relative.hasPrefix(excludedPrefix) { continue }
            var isDirectory: ObjCBool = false
            let full = directory + "/" + relative
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[relative] = FileManager.default.contents(atPath: full) ?? Data()
            }
        }
        return result
    }
}

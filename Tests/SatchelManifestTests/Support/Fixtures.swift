import Foundation
@testable import SatchelManifest
import SatchelTestSupport

/// Locates and loads `fixtures/xml/` relative to this source file.
enum Fixtures {
    static let root: URL = SourceTree.root.appendingPathComponent("fixtures/xml")

    static func bytes(_ relativePath: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: root.appendingPathComponent(relativePath)))
    }

    /// A fixture with `{{NAME}}` placeholders replaced, byte for byte (fixtures may be invalid
    /// UTF-8 on purpose).
    static func bytes(_ relativePath: String, replacing values: [String: String]) throws -> [UInt8] {
        var data = try bytes(relativePath)
        for (key, value) in values {
            let needle = Array("{{\(key)}}".utf8)
            var out: [UInt8] = []
            var i = 0
            while i < data.count {
                if data[i] == needle[0], i + needle.count <= data.count, Array(data[i..<(i + needle.count)]) == needle {
                    out.append(contentsOf: value.utf8)
                    i += needle.count
                } else {
                    out.append(data[i])
                    i += 1
                }
            }
            data = out
        }
        return data
    }

    static func names(in folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)
            .filter { $0.hasSuffix(".xml") }.sorted()
    }
}

/// Runs `body` and returns the ManifestError it throws (nil if it threw nothing or something else).
func manifestError(_ body: () throws -> Void) -> ManifestError? {
    do {
        try body()
        return nil
    } catch let error as ManifestError {
        return error
    } catch {
        return nil
    }
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}

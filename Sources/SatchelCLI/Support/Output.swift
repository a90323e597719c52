import Foundation
import SatchelDemo

/// Writes a command's result: JSON on stdout with `--json`, human text otherwise.
enum Output {
    static func json(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data(("satchel: " + text + "\n").utf8))
    }

    /// Human-readable byte count.
    static func bytes(_ count: UInt64) -> String { humanBytes(count) }
}

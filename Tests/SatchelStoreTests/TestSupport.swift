import Foundation
@testable import SatchelStore

/// A fresh directory under the system temp dir, removed when the value is dropped.
final class TempDirectory {
    let path: String

    init(_ label: String = "store") {
        path = NSTemporaryDirectory() + "satchel-test-\(label)-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func makeStore() throws -> ObjectStore { try ObjectStore.create(at: path + "/store") }
}

func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var source = GeneratedSource(length: UInt64(count), pattern: .random(seed: seed))
    var bytes = [UInt8](repeating: 0, count: count)
    _ = try! bytes.withUnsafeMutableBytes { try source.read(into: $0) }
    return bytes
}

func textBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var source = GeneratedSource(length: UInt64(count), pattern: .text(seed: seed))
    var bytes = [UInt8](repeating: 0, count: count)
    _ = try! bytes.withUnsafeMutableBytes { try source.read(into: $0) }
    return bytes
}

/// Flips one bit of a file in place.
func flipBit(in path: String, at offset: Int) throws {
    var data = try Data(contentsOf: URL(fileURLWithPath: path))
    data[offset] ^= 0x04
    try data.write(to: URL(fileURLWithPath: path))
}

/// Cuts a file to `length` bytes.
func truncate(_ path: String, to length: Int) throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    try data.prefix(length).write(to: URL(fileURLWithPath: path))
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? -1
}

/// SHA-256 hex of everything a sink received, for comparing large streams without holding them.
struct StreamDigest {
    var hasher = ObjectHasher(kind: .blob, length: 0)
    var count: UInt64 = 0
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bytes)
        count += UInt64(bytes.count)
    }
}

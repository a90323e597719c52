import Foundation
@testable import SatchelStore
import SatchelTestSupport

/// A fresh directory under the system temp dir, removed when the value is dropped.
final class TempDirectory {
    private let directory: TemporaryDirectory
    var path: String { directory.path }

    init(_ label: String = "store") {
        directory = TemporaryDirectory(prefix: "satchel-test-\(label)-")
    }

    func makeStore() throws -> ObjectStore { try ObjectStore.create(at: path + "/store") }
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

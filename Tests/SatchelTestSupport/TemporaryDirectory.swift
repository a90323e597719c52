import Foundation

/// A new directory under the system temporary directory, removed with everything in it when the
/// value is dropped: the home of a test's stores, bundles, archives and scratch files.
public final class TemporaryDirectory: Sendable {
    /// Absolute path of the directory.
    public let path: String

    /// Creates `<system temp>/<prefix><UUID>`.
    public init(prefix: String = "satchel-test-") {
        path = NSTemporaryDirectory() + prefix + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// `name` inside the directory.
    public func path(_ name: String) -> String { path + "/" + name }
}

import Foundation

/// Files of the package checkout that tests read: `fixtures/`, `docs/`, `README.md`. Located from
/// this source file (`Tests/SatchelTestSupport/SourceTree.swift`), so tests work from any
/// working directory.
public enum SourceTree {
    /// The package root.
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The absolute path of `relativePath` under the package root.
    public static func path(_ relativePath: String) -> String {
        root.appendingPathComponent(relativePath).path
    }

    /// `fixtures/xml/valid/directory.xml`: the sample clinic directory.
    public static var sampleDirectory: String { path("fixtures/xml/valid/directory.xml") }
}

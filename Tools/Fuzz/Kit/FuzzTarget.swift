import Foundation

/// One libFuzzer target: a process-wide harness whose ``run(_:)`` feeds one input to the real
/// library entry point. Any input may be refused with an error; a ``FuzzFinding`` (or a trap)
/// is a bug.
public protocol FuzzHarness: AnyObject {
    func run(_ input: [UInt8]) throws(FuzzFinding)
    /// The same from async code (the HTTP target must not block a cooperative thread there).
    func runAsync(_ input: [UInt8]) async throws(FuzzFinding)
    /// Removes the harness's scratch directory.
    func tearDown()
}

extension FuzzHarness {
    public func runAsync(_ input: [UInt8]) async throws(FuzzFinding) { try run(input) }
}

/// The fuzz targets of issue #12 (docs/RELIABILITY.md, "Fuzzing").
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// XML manifest reader: `AnyManifest.decode` (every vocabulary), then the canonical round trip.
    case manifest
    /// Rich-text sanitizer: `RichText.sanitize`, then idempotence.
    case richtext
    /// Pack index reader: a pack's `.idx` opened as the store does, every listed object read.
    case packindex
    /// Change-log reader: `changes.log` read, queried and compacted.
    case changelog
    /// Bundle reader, verification and apply on a workstation store.
    case bundle
    /// Backup archive reader: verify, and restore what verifies clean.
    case backup
    /// HTTP request handling: `SyncServer.respond(toRawRequest:)` on a portal store.
    case http

    /// The targets of the offline driver (SatchelFuzzOffline: no server, no SwiftNIO).
    public static let offline: [FuzzTarget] = allCases.filter { $0 != .http }

    public func makeHarness() throws -> any FuzzHarness {
        switch self {
        case .manifest: return ManifestHarness()
        case .richtext: return RichTextHarness()
        case .packindex: return try PackIndexHarness()
        case .changelog: return try ChangeLogHarness()
        case .bundle: return try BundleHarness()
        case .backup: return try BackupHarness()
        case .http:
            // SatchelFuzzHTTP (the server and SwiftNIO) has it; this module stays offline so that
            // the other targets build without them.
            throw FuzzFinding("the http target lives in SatchelFuzzHTTP: use FuzzHTTP.makeHarness(for:) (SatchelFuzz)")
        }
    }
}

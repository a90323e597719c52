import SatchelBackup
@testable import SatchelCLI
import SatchelManifest
import SatchelMessaging
import SatchelServer
import SatchelStore
import SatchelSync
import Testing

/// Every module's error has one shape (``SatchelError``: kind, message, context, cause chain),
/// and exit codes come from the kind, in the CLI only.
@Suite struct ErrorShapeTests {
    @Test func everyModuleErrorMapsToItsExitCodeThroughItsKind() {
        let cases: [(any SatchelError, SatchelCLI.ExitStatus)] = [
            (StoreError(.notFound, "x"), .missingInput),
            (StoreError(.corrupt, "x"), .badInput),
            (StoreError(.io, "x"), .ioError),
            (StoreError(.busy, "x"), .busy),
            (StoreError(.exists, "x"), .targetExists),
            (StoreError(.invalidArgument, "x"), .usage),
            (ManifestError(.schema, "x"), .badInput),
            (ManifestError(.io, "x"), .ioError),
            (MessagingError(.refused, "x"), .refused),
            (MessagingError(.notFound, "x"), .missingInput),
            (MessagingError(.conflict, "x"), .busy),
            (SyncError(.missingPrerequisite, "x"), .badInput),
            (SyncError(.exists, "x"), .targetExists),
            (BackupError(.passphrase, "x"), .refused),
            (BackupError(.damaged, "x"), .badInput),
            (HTTPSyncError(.transport, "x"), .ioError),
            (HTTPSyncError(.unauthorized, "x"), .refused),
        ]
        for (error, status) in cases {
            #expect(ErrorReporting.classify(error).0 == status, "\(type(of: error)) \(error.kind)")
        }
    }

    @Test func causesChainAcrossModulesAndContextNamesWhere() {
        let disk = StoreError(.io, "cannot read", path: "objects/ab/cd")
        let manifest = ManifestError(.io, "reading the manifest failed", line: 3, cause: disk)
        let messaging = MessagingError(.invalidInput, "directory import failed", cause: manifest)
        #expect(messaging.chain.count == 3)
        #expect((messaging.chain[2] as? StoreError)?.context == ["path": "objects/ab/cd"])
        #expect(manifest.context == ["line": "3"])
        #expect(messaging.kind == .invalidInput)
    }
}

import SatchelBackup
import SatchelManifest
import SatchelMessaging
import SatchelServer
import SatchelSync

enum ManifestErrorReporting {
    /// Exit codes for the errors of the manifest and messaging layers.
    static func classify(_ error: any Error) -> (ExitStatus, String)? {
        switch error {
        case let error as ManifestError:
            return (.badInput, error.description)
        case let error as MessagingError:
            let status: ExitStatus = switch error.code {
            case .refused: .refused
            case .notFound: .missingInput
            case .invalidInput: .badInput
            case .usage: .usage
            case .conflict: .busy
            }
            return (status, error.message)
        case let error as SyncError:
            let status: ExitStatus = switch error.code {
            case .badInput, .missingPrerequisite: .badInput
            case .refused: .refused
            case .notFound: .missingInput
            case .exists: .targetExists
            }
            return (status, error.message)
        case let error as HTTPSyncError:
            let status: ExitStatus = switch error.code {
            case .usage: .usage
            case .unauthorized, .refused: .refused
            case .badInput: .badInput
            case .transport: .ioError
            }
            return (status, error.message)
        case let error as BackupError:
            let status: ExitStatus = switch error.code {
            case .damaged: .badInput
            case .passphrase: .refused
            case .notFound: .missingInput
            case .targetExists: .targetExists
            case .usage: .usage
            case .busy: .busy
            }
            return (status, error.message)
        default:
            return nil
        }
    }
}

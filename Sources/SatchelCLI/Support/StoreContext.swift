import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore

/// Opens the store a command works on, with a helpful error when there is none.
enum StoreContext {
    static func open(_ global: GlobalOptions) throws -> Repository {
        let path = global.storePath
        do {
            let repository = try Repository.open(at: path)
            CLILog.logger.debug("opened store", metadata: ["store": "\(path)", "role": "\(repository.role.rawValue)",
                                                          "replica": "\(repository.replica)"])
            return repository
        } catch let error as StoreError where error.code == .notFound {
            throw CLIError(.missingInput, "no Satchel store at \(path) (create one with: satchel init \(path) --role workstation)")
        }
    }

    /// fsck's schema check: every manifest must decode and validate against its XSD.
    static func manifestChecker(_ id: ObjectID, _ bytes: [UInt8]) -> String? {
        do {
            _ = try AnyManifest.decode(bytes, trust: .untrusted)
            return nil
        } catch {
            return "\(error)"
        }
    }
}

import Crypto
import Foundation
import SatchelBackup
import SatchelMessaging
import SatchelStore
import Testing

/// Every single-byte flip, every truncation and every authenticated-but-rehashed tamper of a small
/// archive is refused by verify and by restore, and a refused restore leaves nothing behind.
@Suite struct DamageTests {
    static func smallArchive(_ ws: Workspace, passphrase: String?) throws -> String {
        let laptop = try ws.store("laptop")
        try compose(laptop, subject: "Short", body: "Hi")
        let archive = ws.path("small.backup")
        try Backup.create(laptop, to: archive, options: try fastOptions(passphrase: passphrase))
        return archive
    }

    static func refused(_ path: String, passphrase: String?) -> Bool {
        do {
            let report = try Backup.verify(path, passphrase: try passphrase.map { try Passphrase(string: $0) })
            return !report.isClean
        } catch let error as BackupError {
            return error.code == .damaged || error.code == .passphrase
        } catch {
            return false
        }
    }

    @Test(arguments: [nil, "pw"] as [String?])
    func everySingleByteFlipIsRefused(passphrase: String?) throws {
        let ws = Workspace()
        let archive = try Self.smallArchive(ws, passphrase: passphrase)
        let original = bytes(archive)
        #expect(!Self.refused(archive, passphrase: passphrase))
        let damaged = ws.path("damaged.backup")
        var missed: [Int] = []
        for offset in 0..<original.count {
            var copy = original
            copy[offset] ^= 0x01 << UInt8(offset % 8)
            write(copy, damaged)
            if !Self.refused(damaged, passphrase: passphrase) { missed.append(offset) }
            if offset % 61 == 0 {
                let target = ws.path("restore-\(offset)")
                #expect(throws: BackupError.self) {
                    try Backup.restore(damaged, to: target, passphrase: try passphrase.map { try Passphrase(string: $0) })
                }
                #expect(!FileManager.default.fileExists(atPath: target))
            }
        }
        #expect(missed.isEmpty, "flips at \(missed.prefix(10)) were not refused")
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.root).filter { $0.hasPrefix(".satchel") }.isEmpty)
    }

    /// With the trailing checksum recomputed (a deliberate tamper, not an accident), the header
    /// MAC and the chunk tags still refuse every flipped byte of an encrypted archive.
    @Test func encryptedArchiveRefusesTamperingEvenWithAFixedUpChecksum() throws {
        let ws = Workspace()
        let archive = try Self.smallArchive(ws, passphrase: "pw")
        let original = bytes(archive)
        let damaged = ws.path("tampered.backup")
        var missed: [Int] = []
        for offset in 0..<(original.count - 32) {
            var copy = Array(original[0..<(original.count - 32)])
            copy[offset] ^= 0x01 << UInt8(offset % 8)
            copy += Array(SHA256.hash(data: copy))
            write(copy, damaged)
            if !Self.refused(damaged, passphrase: "pw") { missed.append(offset) }
        }
        #expect(missed.isEmpty, "tampered bytes at \(missed.prefix(10)) were accepted")
    }

    @Test(arguments: [nil, "pw"] as [String?])
    func everyTruncationIsRefused(passphrase: String?) throws {
        let ws = Workspace()
        let archive = try Self.smallArchive(ws, passphrase: passphrase)
        let original = bytes(archive)
        let cut = ws.path("cut.backup")
        for length in stride(from: 0, to: original.count, by: 7) {
            write(Array(original[0..<length]), cut)
            #expect(Self.refused(cut, passphrase: passphrase), "truncation to \(length) bytes accepted")
        }
        // Dropping whole encrypted chunks at the end, with a rehashed trailer, is refused too.
        if passphrase != nil {
            for drop in [4112, 8224] where drop < original.count - 200 {
                var copy = Array(original[0..<(original.count - 32 - drop)])
                copy += Array(SHA256.hash(data: copy))
                write(copy, cut)
                #expect(Self.refused(cut, passphrase: passphrase))
            }
        }
    }
}

import SatchelManifest

/// `AnyManifest.decode` on untrusted bytes; whatever decodes must survive the canonical round
/// trip unchanged (decode(encode(m)) == m).
final class ManifestHarness: FuzzHarness {
    func run(_ input: [UInt8]) throws(FuzzFinding) {
        guard let manifest = try? AnyManifest.decode(input, trust: .untrusted) else { return }
        let encoded: [UInt8]
        do { encoded = try Self.encode(manifest) } catch {
            throw FuzzFinding("a decoded \(manifest.vocabulary) manifest cannot be encoded: \(error)")
        }
        let again: AnyManifest
        do { again = try AnyManifest.decode(encoded, trust: .untrusted) } catch {
            throw FuzzFinding("the canonical form of a decoded \(manifest.vocabulary) manifest does not decode: \(error)\n"
                              + String(decoding: encoded, as: UTF8.self))
        }
        guard again == manifest else {
            throw FuzzFinding("the canonical round trip changed a \(manifest.vocabulary) manifest:\n"
                              + String(decoding: encoded, as: UTF8.self))
        }
    }

    static func encode(_ manifest: AnyManifest) throws -> [UInt8] {
        switch manifest {
        case .store(let m): try m.encoded()
        case .directory(let m): try m.encoded()
        case .thread(let m): try m.encoded()
        case .event(let m): try m.encoded()
        case .message(let m): try m.encoded()
        case .envelope(let m): try m.encoded()
        case .draft(let m): try m.encoded()
        case .draftSet(let m): try m.encoded()
        case .notification(let m): try m.encoded()
        case .bundle(let m): try m.encoded()
        case .checkpoint(let m): try m.encoded()
        case .token(let m): try m.encoded()
        case .backup(let m): try m.encoded()
        }
    }

    func tearDown() {}
}

/// `RichText.sanitize` on the input read as UTF-8 (invalid sequences replaced, as any `String`);
/// the documented promises: it does not throw for a string, and sanitizing its output again
/// changes nothing.
final class RichTextHarness: FuzzHarness {
    func run(_ input: [UInt8]) throws(FuzzFinding) {
        let html = String(decoding: input, as: UTF8.self)
        let output: String
        do { output = try RichText.sanitize(html) } catch {
            throw FuzzFinding("RichText.sanitize threw for a string: \(error)")
        }
        let again: String
        do { again = try RichText.sanitize(output) } catch {
            throw FuzzFinding("RichText.sanitize threw for its own output: \(error)")
        }
        guard again == output else {
            throw FuzzFinding("sanitizing sanitized output changed it:\n\(output.debugDescription)\n→\n\(again.debugDescription)")
        }
    }

    func tearDown() {}
}

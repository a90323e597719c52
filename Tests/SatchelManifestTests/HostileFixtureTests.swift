import Foundation
import Testing
@testable import SatchelManifest

/// Every hostile fixture is refused quickly and in bounded memory, reads no file and opens no
/// connection.
@Suite(.serialized) struct HostileFixtureTests {
    /// Fixture → the refusal expected from an untrusted directory import.
    static let expected: [String: ManifestError.Code] = [
        "xxe-local-file.xml": .doctype,
        "xxe-local-file-text.xml": .doctype,
        "external-dtd-http.xml": .doctype,
        "external-entity-http.xml": .doctype,
        "parameter-entity-http.xml": .doctype,
        "internal-doctype.xml": .doctype,
        "billion-laughs.xml": .doctype,
        "quadratic-blowup.xml": .doctype,
        "schema-location-http.xml": .unexpected,
        "xinclude-local-file.xml": .schema,
        "undeclared-entity.xml": .entity,
        "processing-instruction.xml": .forbiddenNode,
        "invalid-utf8.xml": .encoding,
        "utf16.xml": .encoding,
        "latin1-declared.xml": .encoding,
        "wrong-namespace.xml": .wrongNamespace,
        "no-namespace.xml": .wrongNamespace,
        "unknown-version.xml": .unknownVersion,
        "missing-attribute.xml": .schema,
        "bad-enum-value.xml": .schema,
        "unclosed-tag.xml": .malformed,
        "dangling-portal-user.xml": .danglingReference,
        "dangling-list-member.xml": .danglingReference,
        "duplicate-id.xml": .duplicate,
    ]

    @Test func everyFixtureIsListed() throws {
        #expect(Set(try Fixtures.names(in: "hostile")) == Set(Self.expected.keys))
    }

    @Test func tripwiresWork() throws {
        let listener = try LoopbackTripwire()
        listener.knock()
        #expect(listener.connections(waiting: 200) == 1)
        let file = try FileTripwire()
        _ = try Data(contentsOf: URL(fileURLWithPath: file.path))
        #expect(file.events() > 0)
    }

    @Test func hostileFixturesAreRefusedWithoutTouchingFilesOrNetwork() throws {
        let listener = try LoopbackTripwire()
        let secret = try FileTripwire()
        let values = ["PORT": String(listener.port), "SECRET_PATH": secret.path]
        for (name, code) in Self.expected.sorted(by: { $0.key < $1.key }) {
            let input = try Fixtures.bytes("hostile/\(name)", replacing: values)
            for trust in [ManifestTrust.untrusted, .trusted] {
                let start = ContinuousClock.now
                let error = manifestError { _ = try Directory.decode(input, trust: trust) }
                let elapsed = ContinuousClock.now - start
                #expect(error != nil, "\(name) was accepted (\(trust))")
                if trust == .untrusted {
                    #expect(error?.code == code, "\(name): \(String(describing: error))")
                }
                #expect(error?.line != nil, "\(name) error has no line")
                #expect(elapsed < .seconds(1), "\(name) took \(elapsed)")
                let description = error?.description ?? ""
                #expect(!description.contains(FileTripwire.content))
                #expect(!description.contains("Rosa") && !description.contains("rosa@"))
            }
        }
        #expect(listener.connections() == 0, "a hostile fixture opened a connection")
        #expect(secret.events() == 0, "a hostile fixture opened the secret file")
    }

    @Test func entityBombsStopAtTheDoctype() throws {
        for name in ["billion-laughs.xml", "quadratic-blowup.xml"] {
            let error = manifestError { _ = try Directory.importFile(try Fixtures.bytes("hostile/\(name)")) }
            #expect(error?.code == .doctype)
            #expect(error?.line == 2, "refused at the DOCTYPE, before any entity is declared or used")
        }
    }

    @Test func referenceErrorsNameElementAttributeAndLine() throws {
        let portal = manifestError { _ = try Directory.importFile(try Fixtures.bytes("hostile/dangling-portal-user.xml")) }
        #expect(portal?.line == 5)
        #expect(portal?.message.contains("portalUser") == true && portal?.message.contains("patient") == true)
        #expect(portal?.message.contains("p9") == true)
        let member = manifestError { _ = try Directory.importFile(try Fixtures.bytes("hostile/dangling-list-member.xml")) }
        #expect(member?.line == 4)
        #expect(member?.message.contains("member") == true && member?.message.contains("s7") == true)
        let duplicate = manifestError { _ = try Directory.importFile(try Fixtures.bytes("hostile/duplicate-id.xml")) }
        #expect(duplicate?.line == 4)
    }

    @Test func schemaErrorsNameTheRuleButNotTheValue() throws {
        let error = manifestError { _ = try Directory.importFile(try Fixtures.bytes("hostile/bad-enum-value.xml")) }
        #expect(error?.code == .schema)
        #expect(error?.line == 3)
        #expect(error?.message.contains("status") == true)
        #expect(error?.message.contains("deceased") == false)
        let missing = manifestError { _ = try Directory.importFile(try Fixtures.bytes("hostile/missing-attribute.xml")) }
        #expect(missing?.message.contains("status") == true)
        #expect(missing?.line == 3)
    }

    @Test func trustedDecodingRefusesOnItsOwn() throws {
        let missing = manifestError {
            _ = try Directory.decode(try Fixtures.bytes("hostile/missing-attribute.xml"), trust: .trusted)
        }
        #expect(missing?.code == .missing)
        let badEnum = manifestError {
            _ = try Directory.decode(try Fixtures.bytes("hostile/bad-enum-value.xml"), trust: .trusted)
        }
        #expect(badEnum?.code == .invalidValue)
        #expect(badEnum?.description.contains("deceased") == false)
    }

    @Test func unknownVersionErrorIsClear() throws {
        let error = manifestError { _ = try Directory.importFile(try Fixtures.bytes("hostile/unknown-version.xml")) }
        #expect(error?.message == "directory manifest version 2 is not supported; this build reads version 1 (urn:satchel:directory:1)")
        #expect(error?.line == 1)
    }
}

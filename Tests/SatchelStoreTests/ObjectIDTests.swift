import PropertyBased
import Testing
@testable import SatchelStore

@Suite struct ObjectIDTests {
    @Test func knownVectorForEmptyBlob() {
        // sha256("blob 0\0") — the header is part of the hash.
        let id = ObjectID.compute(kind: .blob, payload: [])
        #expect(id.description == "sha256:473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813")
    }

    @Test func kindIsPartOfTheAddress() {
        let bytes = Array("same bytes".utf8)
        #expect(ObjectID.compute(kind: .blob, payload: bytes) != ObjectID.compute(kind: .manifest, payload: bytes))
    }

    @Test func textFormRoundTrips() async {
        await propertyCheck(input: Gen.uint8().array(of: 32)) { raw in
            let id = ObjectID(bytes: raw)!
            #expect(ObjectID(id.description) == id)
            #expect(id.bytes == raw)
            #expect(id.description.count == 71)
        }
    }

    @Test func orderIsByteOrder() async {
        await propertyCheck(input: Gen.uint8().array(of: 32), Gen.uint8().array(of: 32)) { a, b in
            let x = ObjectID(bytes: a)!, y = ObjectID(bytes: b)!
            #expect((x < y) == a.lexicographicallyPrecedes(b))
        }
    }

    @Test(arguments: ["", "sha256:", "sha1:" + String(repeating: "a", count: 64),
                      "sha256:" + String(repeating: "g", count: 64), "sha256:" + String(repeating: "a", count: 63),
                      "sha256:" + String(repeating: "a", count: 65)])
    func rejectsMalformedText(_ text: String) {
        #expect(ObjectID(text) == nil)
    }
}

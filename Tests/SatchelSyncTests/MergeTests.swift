import PropertyBased
import SatchelManifest
import SatchelStore
import Testing
@testable import SatchelSync

@Suite struct VersionVectorTests {
    static let vector = Gen.uint64(in: 0...3).array(of: 3).map { counters in
        VersionVector(Dictionary(uniqueKeysWithValues: zip(["ra", "rb", "rc"], counters)))
    }

    @Test func orderIsConsistent() async {
        await propertyCheck(input: Self.vector, Self.vector) { a, b in
            let ab = a.compare(b), ba = b.compare(a)
            switch ab {
            case .equal: #expect(ba == .equal && a == b)
            case .ahead: #expect(ba == .behind)
            case .behind: #expect(ba == .ahead)
            case .concurrent: #expect(ba == .concurrent)
            }
            let join = a.merged(with: b)
            #expect(join == b.merged(with: a))
            #expect([CausalOrder.ahead, .equal].contains(join.compare(a)))
            #expect([CausalOrder.ahead, .equal].contains(join.compare(b)))
        }
    }
}

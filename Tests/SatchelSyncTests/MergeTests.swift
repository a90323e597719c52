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

@Suite struct ThreadMergeTests {
    static func id(_ n: Int) -> ObjectID { ObjectID.compute(kind: .manifest, payload: Array("m\(n)".utf8)) }

    // The join laws are checked on heads of causally valid histories (JoinLawTests): heads
    // built independently from one base are histories no set of replicas can produce.

    @Test func concurrentCloseAndReopenCloseWinsAndIsRecorded() {
        let base = ThreadManifest(
            id: "T-1", patient: "p1", subject: "s", created: Timestamp(millisecondsSinceEpoch: 0),
            status: .init(.closed, dot: Dot(replica: "ra", counter: 1)),
            allowReplies: .init(true, dot: Dot(replica: "ra", counter: 1)), version: VersionVector(["ra": 1]))
        var reopened = base
        reopened.version["rb"] = 1
        reopened.status = .init(.open, dot: Dot(replica: "rb", counter: 1))
        var closedAgain = base
        closedAgain.version["ra"] = 2
        closedAgain.status = .init(.closed, dot: Dot(replica: "ra", counter: 2))
        let merged = ThreadMerge.merge(reopened, closedAgain)
        #expect(merged.status.value == .closed)
        #expect(merged.conflicts.map(\.value) == ["open"])
        // A reopen that saw the close wins without conflict.
        #expect(ThreadMerge.merge(base, reopened).status.value == .open)
        #expect(ThreadMerge.merge(base, reopened).conflicts.isEmpty)
    }
}

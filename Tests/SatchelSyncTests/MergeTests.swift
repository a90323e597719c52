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

    /// Random histories of one thread on three replicas, built from a common base.
    static let threadGen = Gen.int(in: 0...5).array(of: 3...8).map { script -> ThreadManifest in
        var thread = ThreadManifest(
            id: "T-1", patient: "p1", subject: "s", created: Timestamp(millisecondsSinceEpoch: 0),
            status: .init(.open, dot: Dot(replica: "ra", counter: 1)),
            allowReplies: .init(true, dot: Dot(replica: "ra", counter: 1)), version: VersionVector(["ra": 1]),
            messages: [.init(id: "M-0", object: id(0), sent: Timestamp(millisecondsSinceEpoch: 0))])
        let replicas = ["ra", "rb", "rc"]
        for (i, step) in script.enumerated() {
            let replica = replicas[step % 3]
            thread.version[replica] += 1
            let dot = Dot(replica: replica, counter: thread.version[replica])
            switch step {
            case 0, 1: thread.insert(.init(id: "M-\(i + 1)-\(replica)", object: id(i + 1), sent: Timestamp(millisecondsSinceEpoch: Int64(i + 1))))
            case 2: thread.status = .init(.closed, dot: dot)
            case 3: thread.status = .init(.open, dot: dot)
            case 4: thread.allowReplies = .init(false, dot: dot)
            default: thread.allowReplies = .init(true, dot: dot)
            }
        }
        return thread
    }

    @Test func mergeIsCommutativeIdempotentAndAssociative() async {
        await propertyCheck(count: 200, input: Self.threadGen, Self.threadGen, Self.threadGen) { a, b, c in
            let ab = ThreadMerge.merge(a, b), ba = ThreadMerge.merge(b, a)
            #expect((try? ab.encoded()) == (try? ba.encoded()))
            #expect(ThreadMerge.merge(a, a) == a)
            #expect(ThreadMerge.merge(ab, b) == ab)
            let left = ThreadMerge.merge(ab, c), right = ThreadMerge.merge(a, ThreadMerge.merge(b, c))
            #expect(Set(left.messages.map(\.id)) == Set(right.messages.map(\.id)))
            #expect(left.version == right.version)
            // No message is ever lost.
            #expect(Set(ab.messages.map(\.id)).isSuperset(of: a.messages.map(\.id)))
            #expect(Set(ab.messages.map(\.id)).isSuperset(of: b.messages.map(\.id)))
        }
    }

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



/// How two version vectors relate.
public enum CausalOrder: String, Sendable {
    case equal, ahead, behind, concurrent
}

extension VersionVector {
    /// `self` compared with `other`: ahead means self has seen everything other has, and more.
    public func compare(_ other: VersionVector) -> CausalOrder {
        var selfBigger = false, otherBigger = false
        for replica in Set(counters.keys).union(other.counters.keys) {
            let a = self[replica], b = other[replica]
            if a > b { selfBigger = true }
            if b > a { otherBigger = true }
        }
        switch (selfBigger, otherBigger) {
        case (false, false): return .equal
        case (true, false): return .ahead
        case (false, true): return .behind
        case (true, true): return .concurrent
        }
    }

    /// The pointwise maximum (the join).
    public func merged(with other: VersionVector) -> VersionVector {
        var result = self
        for (replica, counter) in other.counters where counter > result[replica] { result[replica] = counter }
        return result
    }

    /// True if the edit `dot` is part of the history this vector describes.
    public func covers(_ dot: Dot) -> Bool { self[dot.replica] >= dot.counter }
}

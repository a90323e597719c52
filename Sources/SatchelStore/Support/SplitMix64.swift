/// A small seeded generator (SplitMix64): the same seed gives the same sequence on every
/// platform. Generated content (``GeneratedSource``), benchmarks, simulators and randomized
/// tests use it, so that any run can be replayed from its seed. Not for secrets.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's state; each call to ``next()`` advances it.
    public var state: UInt64

    /// A generator starting from `seed` (used as the state as is).
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<n` (0 when `n` ≤ 1), by modulo: slightly biased, fine for workloads.
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / 9_007_199_254_740_992.0 }
}

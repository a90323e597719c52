import SatchelStore

/// `count` pseudo-random bytes from `seed` (incompressible content), the same for the same seed.
public func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    generated(count, .random(seed: seed))
}

/// `count` bytes of English-like text from `seed` (compressible content), the same for the same
/// seed.
public func textBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    generated(count, .text(seed: seed))
}

private func generated(_ count: Int, _ pattern: GeneratedSource.Pattern) -> [UInt8] {
    var source = GeneratedSource(length: UInt64(count), pattern: pattern)
    var bytes = [UInt8](repeating: 0, count: count)
    _ = try! bytes.withUnsafeMutableBytes { try source.read(into: $0) }
    return bytes
}

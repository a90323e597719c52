/// Random identifiers for replicas, threads, messages, drafts and notifications.
///
/// 80 random bits in lowercase hex after a one-letter prefix: unique without coordination
/// between offline replicas, and free of any patient data.
public enum Identifier {
    /// A new replica ID (`r…`).
    public static func replica() -> String { make("r") }
    /// A new thread ID (`T-…`).
    public static func thread() -> String { make("T-") }
    /// A new message ID (`M-…`).
    public static func message() -> String { make("M-") }
    /// A new draft ID (`D-…`).
    public static func draft() -> String { make("D-") }
    /// A new notification ID (`N-…`).
    public static func notification() -> String { make("N-") }

    static func make(_ prefix: String) -> String {
        // Two 64-bit draws (two getrandom calls), not one per digit: a bulk send makes two IDs
        // per patient.
        var rng = SystemRandomNumberGenerator()
        let bits = (rng.next() as UInt64, rng.next() as UInt64)
        let digits = Array("0123456789abcdef".utf8)
        var out = Array(prefix.utf8)
        out.reserveCapacity(out.count + 20)
        for i in 0..<20 {
            let word = i < 16 ? bits.0 >> (UInt64(i) * 4) : bits.1 >> (UInt64(i - 16) * 4)
            out.append(digits[Int(word & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

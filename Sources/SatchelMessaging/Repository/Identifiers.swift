/// Random identifiers for replicas, threads, messages, drafts and notifications.
///
/// 80 random bits in lowercase hex after a one-letter prefix: unique without coordination
/// between offline replicas, and free of any patient data.
public enum Identifier {
    public static func replica() -> String { make("r") }
    public static func thread() -> String { make("T-") }
    public static func message() -> String { make("M-") }
    public static func draft() -> String { make("D-") }
    public static func notification() -> String { make("N-") }

    static func make(_ prefix: String) -> String {
        var rng = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return prefix + String((0..<20).map { _ in digits[Int.random(in: 0..<16, using: &rng)] })
    }
}

// Text and argument helpers every benchmark shares (no Foundation, as BenchProcess).

/// Numbers as benchmark tables show them.
public enum Fmt {
    /// Fixed-point decimal ("n/a" for NaN).
    public static func f(_ x: Double, _ decimals: Int = 1) -> String {
        if x.isNaN { return "n/a" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let negative = x < 0
        let scaled = (abs(x) * scale).rounded()
        let whole = Int(scaled / scale)
        let frac = Int(scaled - Double(whole) * scale)
        var text = String(whole)
        if decimals > 0 {
            let digits = String(frac)
            text += "." + String(repeating: "0", count: decimals - digits.count) + digits
        }
        return negative ? "-" + text : text
    }

    /// Thousands separators for integers shown in tables.
    public static func grouped(_ n: Int) -> String {
        let digits = String(abs(n))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }

    /// Seconds as milliseconds, one decimal.
    public static func ms(_ seconds: Double) -> String { f(seconds * 1000, 1) }
    /// KiB as MiB, one decimal.
    public static func mib(_ kib: Int) -> String { f(Double(kib) / 1024, 1) }
    /// Bytes as kB, one decimal.
    public static func kb(_ bytes: UInt64) -> String { f(Double(bytes) / 1000, 1) }
    /// Bytes as MB, two decimals.
    public static func mb(_ bytes: UInt64) -> String { f(Double(bytes) / 1e6, 2) }

    /// `s` padded with spaces on the right to `width`.
    public static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    /// `s` padded with spaces on the left to `width`.
    public static func padLeft(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }
}

/// The median (NaN for none).
public func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/// A benchmark's command line, read flag by flag: `while let flag = arguments.next() { switch flag … }`.
public struct BenchArguments {
    private let arguments: [String]
    private let usage: String
    private var index = -1

    /// The arguments (without the program name) and the usage text errors end with.
    public init(_ arguments: [String], usage: String) {
        self.arguments = arguments
        self.usage = usage
    }

    /// The next flag, nil at the end.
    public mutating func next() -> String? {
        index += 1
        return index < arguments.count ? arguments[index] : nil
    }

    /// The value after the current flag.
    public mutating func value() throws -> String {
        index += 1
        guard index < arguments.count else { throw BenchError("\(arguments[index - 1]) needs a value\n\(usage)") }
        return arguments[index]
    }

    /// The value after the current flag as a whole number ≥ `minimum` (underscores allowed: 100_000).
    public mutating func number(minimum: Int = 1) throws -> Int {
        let text = try value()
        guard let n = Int(text.filter { $0 != "_" }), n >= minimum else {
            throw BenchError("\(arguments[index - 1]) needs a whole number ≥ \(minimum), not \(text)")
        }
        return n
    }

    /// The error for the current, unknown flag.
    public func unknown() -> BenchError { BenchError("unknown argument \(arguments[index])\n\(usage)") }
}

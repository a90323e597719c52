/// Checks that streamed input is UTF-8 before libxml2 sees it, and hands on whole characters only.
///
/// libxml2's HTML parser, on an invalid byte, silently switches the rest of the document to
/// ISO-8859-1: input that is not UTF-8 is refused instead, as not text, with its byte offset.
/// A byte order mark at offset 0 is removed. U+0000 becomes U+FFFD (libxml2 works on C strings).
struct UTF8Input {
    /// Bytes of an incomplete character at the end of the last piece.
    private var carry: [UInt8] = []
    /// Input bytes seen so far, carry included (for error offsets).
    private var offset = 0

    /// Validates `piece` and appends its complete characters to `out`; an incomplete last
    /// character waits for the next piece.
    mutating func process(_ piece: UnsafeRawBufferPointer, into out: inout [UInt8]) throws(ManifestError) {
        var rest = piece[...]
        if !carry.isEmpty {
            // carry + up to 3 more bytes holds the carried character whole, if the input has it.
            let base = offset - carry.count
            let joined = carry + rest.prefix(3)
            let used = try ManifestError.catching {
                try joined.withUnsafeBytes { try Self.validate($0, base: base, into: &out, final: false) }
            }
            if used == 0 {
                carry = joined
                offset += rest.count
                return
            }
            rest = rest.dropFirst(used - carry.count)
            carry = []
        }
        let start = offset + (piece.count - rest.count)
        let used = try Self.validate(UnsafeRawBufferPointer(rebasing: rest), base: start, into: &out, final: false)
        carry = Array(rest.dropFirst(used))
        offset += piece.count
    }

    /// Ends the input: an incomplete character left over is an error.
    func finish() throws(ManifestError) {
        if !carry.isEmpty {
            throw Self.invalid(at: offset - carry.count)
        }
    }

    private static func invalid(at offset: Int) -> ManifestError {
        ManifestError(.encoding, "input is not UTF-8: invalid byte sequence at byte offset \(offset)")
    }

    /// Sequence length announced by a lead byte (0 for bytes that cannot start a character).
    private static func length(of lead: UInt8) -> Int {
        switch lead {
        case 0x00...0x7F: 1
        case 0xC2...0xDF: 2
        case 0xE0...0xEF: 3
        case 0xF0...0xF4: 4
        default: 0
        }
    }

    /// Whether `byte` may follow `lead` at position `index` (Unicode Table 3-7: no overlongs, no
    /// surrogates, nothing above U+10FFFF).
    private static func fits(_ byte: UInt8, lead: UInt8, index: Int) -> Bool {
        if index == 1 {
            switch lead {
            case 0xE0: return (0xA0...0xBF).contains(byte)
            case 0xED: return (0x80...0x9F).contains(byte)
            case 0xF0: return (0x90...0xBF).contains(byte)
            case 0xF4: return (0x80...0x8F).contains(byte)
            default: break
            }
        }
        return byte & 0xC0 == 0x80
    }

    /// Validates `bytes` (which start at input offset `base`) and appends them to `out`, U+0000
    /// replaced and a BOM at offset 0 removed. Returns how many bytes were consumed: all of them,
    /// or all but an incomplete (so far valid) last character.
    private static func validate(_ raw: UnsafeRawBufferPointer, base: Int, into out: inout [UInt8],
                                 final: Bool) throws(ManifestError) -> Int {
        let result: Result<Int, ManifestError> = {
            let count = raw.count
            var i = 0
            var runStart = 0
            func flushRun() {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[runStart..<i]))
            }
            while i < count {
                let lead = raw[i]
                if lead >= 0x01 && lead < 0x80 { i += 1; continue }
                if lead == 0 {
                    flushRun()
                    out.append(contentsOf: [0xEF, 0xBF, 0xBD])
                    i += 1
                    runStart = i
                    continue
                }
                let n = length(of: lead)
                guard n > 1 else { return .failure(invalid(at: base + i)) }
                let available = min(n, count - i)
                for k in 1..<max(available, 1) where !fits(raw[i + k], lead: lead, index: k) {
                    return .failure(invalid(at: base + i))
                }
                if available < n {
                    if final { return .failure(invalid(at: base + i)) }
                    break
                }
                if base + i == 0, n == 3, raw[1] == 0xBB, raw[2] == 0xBF {
                    i += 3
                    runStart = i
                    continue
                }
                i += n
            }
            flushRun()
            return .success(i)
        }()
        return try result.get()
    }
}

import BenchSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SatchelStore

/// Deterministic English-like messages: words drawn from a frequency-ordered vocabulary with a
/// skewed (Zipf-like) distribution, sentences with capitals and punctuation, paragraphs,
/// occasional numbers, a subject line and a unique reference, so every object is distinct and
/// compresses roughly like real mail (zlib level 1 ratio ≈ 2.5).
enum TextCorpus {
    static let vocabulary: [String] = """
        the of and to a in is you that it for your be on with are this as at have we by from \
        or not will can please our if all an about any when may has more was but they there \
        which their one time also would should other what been results appointment patient \
        clinic doctor care visit health new these so after before day week month today call \
        questions test lab follow-up medication dose daily portal message team office next \
        need information review blood pressure report note plan treatment two three first \
        over into only them some than then its could how well see made just take each both \
        between during without under again further while where those because through same \
        help thank regards best schedule confirm reminder morning afternoon evening tomorrow \
        monday tuesday wednesday thursday friday insurance form forms signed consent policy \
        pharmacy prescription refill tablet tablets water food symptoms pain fever cough rest \
        normal range within expected changes recommend continue stop start increase reduce \
        weight exercise diet sleep record records update updated address phone number email \
        contact reply respond attached document summary discharge referral specialist \
        results cholesterol glucose level levels vitamin screening vaccine immunization \
        therapy session sessions progress goals family member authorized representative \
        access secure login password account available unavailable hours closed holiday \
        arrive early late minutes bring list current allergies history questionnaire \
        complete completed pending approved requested request copy billing payment balance \
        statement due online kindly note important urgent routine annual check checkup
        """.split(separator: " ").map(String.init)

    static let numbers = ["5 mg", "10 mg", "20 mg", "2 tablets", "8:30 am", "1:15 pm", "3 days",
                          "two weeks", "6 months", "120/80", "98.6", "4.2", "March 3", "June 14"]

    /// Object `index` of the corpus: ~`1536 + [0, 1024)` bytes, average ~2 KiB.
    static func message(_ index: Int, seed: UInt64 = 0x5A7C_4E11) -> [UInt8] {
        var rng = SplitMix64(seed: seed ^ (UInt64(index) &* 0x2545_F491_4F6C_DD1D))
        let target = 1536 + rng.below(1024)
        var out: [UInt8] = []
        out.reserveCapacity(target + 64)
        func word() -> String {
            let u = rng.unit()
            return vocabulary[Int(u * u * u * Double(vocabulary.count))]
        }
        out.append(contentsOf: "Subject: ".utf8)
        for i in 0..<(3 + rng.below(5)) {
            if i > 0 { out.append(0x20) }
            out.append(contentsOf: word().utf8)
        }
        out.append(contentsOf: " (ref \(index))\n\nDear patient,\n\n".utf8)
        var sentenceStart = true
        var wordsInSentence = 0
        var sentenceLength = 6 + rng.below(14)
        var sentencesInParagraph = 0
        while out.count < target {
            var w = rng.below(40) == 0 ? numbers[rng.below(numbers.count)] : word()
            if sentenceStart {
                var scalars = Array(w.utf8)
                if let first = scalars.first, (0x61...0x7a).contains(first) { scalars[0] = first - 0x20 }
                w = String(decoding: scalars, as: UTF8.self)
                sentenceStart = false
            } else {
                out.append(0x20)
            }
            out.append(contentsOf: w.utf8)
            wordsInSentence += 1
            if wordsInSentence == sentenceLength {
                out.append(rng.below(8) == 0 ? UInt8(ascii: "?") : UInt8(ascii: "."))
                wordsInSentence = 0
                sentenceLength = 6 + rng.below(14)
                sentenceStart = true
                sentencesInParagraph += 1
                if sentencesInParagraph >= 3 + rng.below(4) {
                    out.append(contentsOf: "\n\n".utf8)
                    sentencesInParagraph = 0
                } else {
                    out.append(0x20)
                }
            } else if rng.below(12) == 0 {
                out.append(UInt8(ascii: ","))
            }
        }
        while out.last == 0x20 || out.last == 0x0a { out.removeLast() }
        out.append(contentsOf: ".\n\nKind regards,\nThe clinic team\n".utf8)
        return out
    }
}

/// The corpus on disk, written once per benchmark run:
/// - `objects.fi`: a git fast-import stream (`blob` / `mark :n` / `data <len>` / bytes) of all
///   objects. git reads it as stdin; the Satchel batch child parses the same file.
/// - `loose/<n>.txt` and `loose-paths.txt`: the loose-write subset as files, and the list of
///   their paths for `git hash-object --stdin-paths` (the Satchel loose child reads the list too).
struct Corpus {
    let streamPath: String
    let pathsPath: String
    let objects: Int
    let looseObjects: Int
    let payloadBytes: UInt64
    let loosePayloadBytes: UInt64

    static func write(in directory: String, objects: Int, looseSubset: Int) throws -> Corpus {
        let streamPath = directory + "/objects.fi"
        let looseDirectory = directory + "/loose"
        let pathsPath = directory + "/loose-paths.txt"
        try Posix.mkdir(looseDirectory)
        let fd = try Posix.createFile(streamPath)
        defer { close(fd) }
        var pending: [UInt8] = []
        pending.reserveCapacity(1 << 20)
        var paths = ""
        var total: UInt64 = 0
        var looseTotal: UInt64 = 0
        for i in 0..<objects {
            let body = TextCorpus.message(i)
            total += UInt64(body.count)
            pending.append(contentsOf: "blob\nmark :\(i + 1)\ndata \(body.count)\n".utf8)
            pending.append(contentsOf: body)
            pending.append(0x0a)
            if pending.count >= 1 << 20 {
                try Posix.writeAll(fd, pending)
                pending.removeAll(keepingCapacity: true)
            }
            if i < looseSubset {
                let path = looseDirectory + "/\(i).txt"
                try Posix.writeFile(path, body)
                paths += path + "\n"
                looseTotal += UInt64(body.count)
            }
        }
        try Posix.writeAll(fd, pending)
        fsync(fd)
        try Posix.writeFile(pathsPath, Array(paths.utf8))
        return Corpus(streamPath: streamPath, pathsPath: pathsPath, objects: objects,
                      looseObjects: min(looseSubset, objects), payloadBytes: total,
                      loosePayloadBytes: looseTotal)
    }
}

/// Reads a fast-import stream of blobs (the subset of the format that ``Corpus`` writes),
/// through a 1 MiB buffer, handing out one payload at a time.
struct FastImportReader {
    private let fd: Int32
    private var buffer: [UInt8] = [UInt8](repeating: 0, count: 1 << 20)
    private var start = 0
    private var end = 0
    private var eof = false

    init(path: String) throws { fd = try Posix.openRead(path) }

    func close() { _ = Glibc.close(fd) }

    private mutating func refill() throws {
        if start > 0 {
            buffer.withUnsafeMutableBytes { raw in
                raw.baseAddress!.copyMemory(from: raw.baseAddress! + start, byteCount: end - start)
            }
            end -= start
            start = 0
        }
        if end == buffer.count { buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count)) }
        let n = try buffer.withUnsafeMutableBytes { raw in
            try Posix.readFully(fd, UnsafeMutableRawBufferPointer(rebasing: raw[end...]))
        }
        if n == 0 { eof = true }
        end += n
    }

    private mutating func line() throws -> String? {
        while true {
            if let nl = buffer[start..<end].firstIndex(of: 0x0a) {
                let text = String(decoding: buffer[start..<nl], as: UTF8.self)
                start = nl + 1
                return text
            }
            if eof { return nil }
            try refill()
        }
    }

    /// The next blob's payload, or nil at the end of the stream.
    mutating func nextBlob() throws -> [UInt8]? {
        while let command = try line() {
            if command.isEmpty { continue }
            guard command == "blob" else { throw BenchError("unexpected fast-import command: \(command)") }
            guard let mark = try line(), mark.hasPrefix("mark :") else { throw BenchError("expected mark") }
            guard let data = try line(), data.hasPrefix("data "), let length = Int(data.dropFirst(5)) else {
                throw BenchError("expected data <length>")
            }
            while end - start < length {
                if eof { throw BenchError("stream truncated") }
                try refill()
            }
            let payload = Array(buffer[start..<start + length])
            start += length
            return payload
        }
        return nil
    }
}

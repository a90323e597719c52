@testable import SatchelManifest
import SatchelTestSupport
import SatchelStore

/// Writes a ``ManifestElement`` tree as a non-canonical but equivalent document: shuffled
/// attributes, random insignificant whitespace and comments, either quote style, a namespace
/// prefix or the default namespace, an optional XML declaration, character references, CDATA and
/// `<x></x>` for empty elements. Decoding the result must give the same value as the canonical
/// bytes.
struct NoisyWriter {
    private var rng: SplitMix64
    private var out = ""
    private var prefix = ""

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    static func write(_ root: ManifestElement, seed: UInt64) -> [UInt8] {
        var writer = NoisyWriter(seed: seed)
        if writer.chance() { writer.out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + writer.space(allowEmpty: true) }
        if writer.chance() { writer.out += "<!-- exported -->" }
        writer.prefix = writer.chance() ? "sx:" : ""
        writer.element(root, isRoot: true)
        if writer.chance() { writer.out += "\n" }
        return Array(writer.out.utf8)
    }

    private mutating func chance(_ percent: UInt64 = 50) -> Bool { rng.next() % 100 < percent }

    private mutating func space(allowEmpty: Bool) -> String {
        let options = allowEmpty ? ["", " ", "\n", "\n  ", "\t", "\r\n  "] : [" ", "  ", "\n    ", "\t", "\r\n "]
        return options[Int(rng.next() % UInt64(options.count))]
    }

    private mutating func element(_ e: ManifestElement, isRoot: Bool) {
        let name = prefix + e.name
        out += "<" + name
        var attributes = e.attributes.map { ($0.name, $0.value) }
        if isRoot {
            let ns = e.namespace ?? ""
            attributes.append((prefix.isEmpty ? "xmlns" : "xmlns:sx", ns))
        }
        for i in stride(from: attributes.count - 1, to: 0, by: -1) {
            attributes.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        for (key, value) in attributes {
            let quote: Character = chance() ? "\"" : "'"
            out += space(allowEmpty: false) + key + (chance(20) ? " = " : "=")
            out += String(quote) + escapeAttribute(value, quote: quote) + String(quote)
        }
        if chance(20) { out += space(allowEmpty: false) }
        if e.children.isEmpty && e.text.isEmpty {
            out += chance() ? "/>" : "></\(name)>"
            return
        }
        out += ">"
        if e.children.isEmpty {
            out += escapeText(e.text)
        } else {
            for child in e.children {
                out += space(allowEmpty: true)
                if chance(10) { out += "<!-- note -->" }
                element(child, isRoot: false)
            }
            out += space(allowEmpty: true)
        }
        out += "</\(name)" + (chance(20) ? " " : "") + ">"
    }

    private mutating func reference(_ scalar: Unicode.Scalar) -> String {
        chance() ? "&#\(scalar.value);" : "&#x\(String(scalar.value, radix: 16, uppercase: chance()));"
    }

    private mutating func escapeAttribute(_ value: String, quote: Character) -> String {
        var s = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": s += "&amp;"
            case "<": s += "&lt;"
            case "\"" where quote == "\"": s += chance() ? "&quot;" : reference(scalar)
            case "'" where quote == "'": s += chance() ? "&apos;" : reference(scalar)
            case "\t", "\n", "\r": s += reference(scalar)
            default: s += chance(10) ? reference(scalar) : String(scalar)
            }
        }
        return s
    }

    private mutating func escapeText(_ text: String) -> String {
        if !text.contains("]]>") && !text.contains("\r") && chance(25) {
            return "<![CDATA[" + text + "]]>"
        }
        var s = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": s += "&amp;"
            case "<": s += "&lt;"
            case ">": s += chance() || s.hasSuffix("]]") ? "&gt;" : ">"
            case "\r": s += reference(scalar)
            default: s += chance(10) ? reference(scalar) : String(scalar)
            }
        }
        return s
    }
}

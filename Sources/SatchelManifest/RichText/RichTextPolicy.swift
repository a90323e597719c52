/// The allow-list: which elements and attributes survive sanitizing, and the rules that keep the
/// output stable when it is parsed again (by libxml2 or a browser). docs/FORMAT.md ("Rich-text bodies") is the
/// prose form of this file; change both together.
enum RichTextPolicy {
    /// The elements that may appear in sanitized output.
    enum Tag: String, CaseIterable, Sendable {
        case p, br, b, strong, i, em, s, strike, del, u
        case ul, ol, li
        case table, thead, tbody, tr, th, td
        case blockquote, a, span, div
        case h1, h2, h3, h4, h5, h6

        var isVoid: Bool { self == .br }

        /// Elements whose alignment is kept (as `align`): those where HTML maps `align` to
        /// `text-align`.
        var isAlignable: Bool {
            switch self {
            case .p, .div, .h1, .h2, .h3, .h4, .h5, .h6, .thead, .tbody, .tr, .th, .td: true
            default: false
            }
        }

        /// The open elements that a start tag of this element closes first, as libxml2's HTML
        /// parser does (its HTML 4 optional-end-tag table, restricted to allowed elements):
        /// `closers[t]` holds the tags whose start closes an open `t`. Applying the same rule while
        /// writing makes the output a fixed point of sanitizing.
        static let closers: [Tag: Set<Tag>] = {
            let blocks: Set<Tag> = [.p, .ul, .ol, .li, .table, .tbody, .tr, .th, .td, .blockquote,
                                    .div, .h1, .h2, .h3, .h4, .h5, .h6]
            let headingClosers: Set<Tag> = [.p, .li, .table]
            return [
                .p: blocks,
                .b: [.p, .th, .td], .i: [.p, .th, .td], .u: [.p, .th, .td],
                .s: [.p], .strike: [.p],
                .ul: [.ol], .ol: [.ul],
                .li: [.li],
                .thead: [.tbody], .tbody: [.tbody],
                .tr: [.tbody, .tr],
                .th: [.tbody, .tr, .th, .td], .td: [.tbody, .tr, .th, .td],
                .a: [.table, .th, .td, .a],
                .span: [.th, .td],
                .h1: headingClosers, .h2: headingClosers, .h3: headingClosers,
                .h4: headingClosers, .h5: headingClosers, .h6: headingClosers,
            ]
        }()

        /// Whether an open `self` is closed by a start tag of `next`.
        func isClosed(by next: Tag) -> Bool {
            Self.closers[self]?.contains(next) ?? false
        }

        /// Whether `self` may be written as a child of `parent` (nil: the top level). Table parts
        /// and list items only inside their containers; inside a table structure only the next
        /// table part. Anything else is unwrapped.
        func mayAppear(in parent: Tag?) -> Bool {
            switch self {
            case .li: return parent == .ul || parent == .ol
            case .thead, .tbody: return parent == .table
            case .tr: return parent == .table || parent == .thead || parent == .tbody
            case .td, .th: return parent == .tr
            default:
                switch parent {
                case .table?, .thead?, .tbody?, .tr?: return false
                default: return true
                }
            }
        }
    }

    /// Nesting depth of written elements; deeper allowed elements are unwrapped.
    static let maxDepth = 256

    /// What happens to an element that is not allowed.
    enum Disposition {
        case keep(Tag)
        /// Removed together with everything inside it.
        case drop
        /// Removed, its content kept (unknown elements, `html`, `body`, `head`, `font`, ...).
        case unwrap
    }

    /// Elements removed with their content: active content, embedded documents, forms, metadata.
    static let dropped: Set<String> = [
        "script", "style", "template", "noscript", "noembed", "noframes",
        "iframe", "frame", "frameset", "object", "embed", "applet", "param", "portal",
        "svg", "math", "img", "image", "picture", "source", "track", "audio", "video", "canvas",
        "map", "area",
        "form", "input", "button", "select", "option", "optgroup", "datalist", "textarea",
        "output", "keygen", "fieldset", "legend", "isindex",
        "title", "meta", "link", "base", "basefont", "bgsound",
        "xmp", "plaintext", "listing",
    ]

    static func disposition(of name: String) -> Disposition {
        if let tag = Tag(rawValue: name) { return .keep(tag) }
        return dropped.contains(name) ? .drop : .unwrap
    }

    // MARK: - Attributes

    /// The link schemes kept in `href`.
    static let linkSchemes: Set<String> = ["http", "https", "mailto"]

    /// The `rel` written on every link.
    static let linkRel = "noopener noreferrer"

    /// The `href` to write for a link, or nil when the link is not allowed.
    ///
    /// As a browser does (WHATWG URL parsing): leading and trailing C0 controls and spaces are
    /// removed, and every ASCII tab, LF and CR anywhere. The rest must then start with a scheme
    /// (`[A-Za-z][A-Za-z0-9+.-]*:`) that is `http`, `https` or `mailto` in any case, and contain no
    /// other control character. Relative and protocol-relative references are refused.
    static func safeHref(_ raw: String) -> String? {
        var scalars = Substring(raw).unicodeScalars
        while let first = scalars.first, first.value <= 0x20 { scalars.removeFirst() }
        while let last = scalars.last, last.value <= 0x20 { scalars.removeLast() }
        var cleaned = String.UnicodeScalarView()
        for scalar in scalars {
            switch scalar.value {
            case 0x09, 0x0A, 0x0D: continue
            case 0x00...0x1F, 0x7F...0x9F: return nil
            default: cleaned.append(scalar)
            }
        }
        let url = String(cleaned)
        guard let colon = url.firstIndex(of: ":") else { return nil }
        let scheme = url[..<colon]
        guard let head = scheme.first, head.isASCII, head.isLetter,
              scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) })
        else { return nil }
        guard linkSchemes.contains(scheme.lowercased()) else { return nil }
        return url
    }

    /// The alignments kept.
    static let alignments: Set<String> = ["left", "center", "right", "justify"]

    /// The alignment of an element: from `style` (its last `text-align` declaration with an allowed
    /// keyword, as CSS overrides the presentational attribute), else from `align`. Every other
    /// declaration of `style` is dropped.
    static func alignment(_ attributes: [HTMLAttribute]) -> String? {
        var fromAttribute: String?
        var fromStyle: String?
        for attribute in attributes {
            guard let value = attribute.value else { continue }
            switch attribute.name {
            case "align":
                let keyword = trimmedLowercase(Substring(value))
                if alignments.contains(keyword) { fromAttribute = keyword }
            case "style":
                for declaration in value.split(separator: ";") {
                    guard let colon = declaration.firstIndex(of: ":") else { continue }
                    guard trimmedLowercase(declaration[..<colon]) == "text-align" else { continue }
                    let keyword = trimmedLowercase(declaration[declaration.index(after: colon)...])
                    if alignments.contains(keyword) { fromStyle = keyword }
                }
            default:
                continue
            }
        }
        return fromStyle ?? fromAttribute
    }

    private static func trimmedLowercase(_ text: Substring) -> String {
        let space: Set<Character> = [" ", "\t", "\n", "\r", "\r\n", "\u{0C}"]
        var s = text
        while let c = s.first, space.contains(c) { s = s.dropFirst() }
        while let c = s.last, space.contains(c) { s = s.dropLast() }
        return s.lowercased()
    }
}

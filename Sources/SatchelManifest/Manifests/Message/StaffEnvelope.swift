/// The staff-only side of one message (vocabulary `urn:satchel:envelope:1`): Staff Bcc. Never
/// written to a portal store or a bundle bound for one.
///
/// ```xml
/// <envelope xmlns="urn:satchel:envelope:1" message="m1" thread="t1">
///   <bccStaff staff="s3"/><bccList list="nursing"/>
/// </envelope>
/// ```
public struct StaffEnvelope: Manifest, Hashable {
    public static let vocabulary = Vocabulary.envelope

    /// The message this envelope belongs to.
    public var message: String
    /// The message's thread.
    public var thread: String
    /// Staff IDs in Bcc (resolved from the lists at send time, plus any named directly).
    public var bccStaff: [String]
    /// Distribution list IDs chosen with `--bcc-list`.
    public var bccLists: [String]

    /// An envelope.
    public init(message: String, thread: String, bccStaff: [String] = [], bccLists: [String] = []) {
        self.message = message
        self.thread = thread
        self.bccStaff = bccStaff
        self.bccLists = bccLists
    }

    /// Children in order: `bccStaff`*, `bccList`*.
    public func encode(to w: CanonicalWriter) throws {
        try w.start("envelope", [("message", message), ("thread", thread)])
        for s in bccStaff { try w.empty("bccStaff", [("staff", s)]) }
        for l in bccLists { try w.empty("bccList", [("list", l)]) }
        try w.end()
    }

    public init(element: ManifestElement) throws(ManifestError) {
        let ns = Self.vocabulary.namespace
        var r = try ElementReader(element, name: "envelope", namespace: ns)
        message = try r.string("message")
        thread = try r.string("thread")
        try r.finish()
        bccStaff = []
        bccLists = []
        for child in try r.children(namespace: ns) {
            switch child.name {
            case "bccStaff": bccStaff.append(try MessageManifest.single(child, "staff", ns))
            case "bccList": bccLists.append(try MessageManifest.single(child, "list", ns))
            default: throw child.unexpectedChild()
            }
        }
    }
}

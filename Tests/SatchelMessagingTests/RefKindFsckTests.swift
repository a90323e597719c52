import Foundation
import SatchelManifest
import SatchelMessaging
import SatchelStore
import Testing

/// Issue #12 row 9: fsck checks that every ref names a manifest of a vocabulary its namespace
/// allows (``RefVocabularies``), on top of the store's own checks.
@Suite struct RefKindFsckTests {
    @Test func refsNamingTheWrongKindOfObjectAreReported() throws {
        let clinic = Clinic()
        let ws = try clinic.workstation()
        var compose = request(to: ["u1"])
        compose.bccLists = ["nursing"]
        let sent = try ws.send(compose).threads[0]
        let report = try ws.fsck()
        #expect(report.isClean, "\(report.problems)")
        let threadHead = try #require(try ws.store.refs.read(RefName("threads/" + sent.thread)))
        let directory = try #require(try ws.store.refs.read(RefName("directory")))
        let envelopes = try ws.store.refs.list(prefix: "envelopes/")
        #expect(!envelopes.isEmpty)
        let blob = try ws.store.put(.blob, Array("not a manifest".utf8))

        try ws.store.refs.update(envelopes[0].name, from: envelopes[0].id, to: threadHead)
        try ws.store.refs.update(RefName("threads/T-forged"), from: nil, to: directory)
        try ws.store.refs.update(RefName("drafts/D-blob"), from: nil, to: blob)
        try ws.store.refs.update(RefName("threads/a/b"), from: nil, to: threadHead)
        let problems = try ws.fsck().problems
        #expect(problems.contains { $0.kind == "wrong-kind" && $0.object == envelopes[0].name.rawValue })
        #expect(problems.contains { $0.kind == "wrong-kind" && $0.object == "threads/T-forged" })
        #expect(problems.contains { $0.kind == "wrong-kind" && $0.object == "drafts/D-blob" })
        #expect(problems.contains { $0.kind == "bad-ref" && $0.object == "threads/a/b" })
        #expect(problems.count == 4, "\(problems)")
    }

    @Test func theTableAcceptsEveryThreadVocabularyVersionItKnows() throws {
        let rule = try #require(RefVocabularies.rule(for: "threads/T-1"))
        #expect(rule.allowed.contains("urn:satchel:thread:1") && rule.allowed.contains("urn:satchel:thread:2"))
        #expect(RefVocabularies.rule(for: "directory")?.components == 0)
        #expect(RefVocabularies.rule(for: "directory-settings")?.prefix == "directory-settings")
        #expect(RefVocabularies.rule(for: "somebody-else/x") == nil)
        // Every namespace the table names is one this build reads.
        let known = Set(Vocabulary.allCases.flatMap { v in v.readableVersions.map { v.namespace(version: $0) } })
        for rule in RefVocabularies.rules {
            for namespace in rule.allowed {
                #expect(known.contains(namespace), "\(namespace) is not a vocabulary this build reads")
            }
        }
    }
}

import Testing
@testable import SatchelManifest

/// Parsers, validation contexts and error collectors are per call; compiled schemas are shared.
/// Many concurrent reads must all succeed and all refusals must keep their own errors.
@Suite struct ConcurrencyTests {
    @Test func concurrentReadsKeepTheirOwnResultsAndErrors() async throws {
        let good = try Fixtures.bytes("valid/directory.xml")
        let bad = try Fixtures.bytes("hostile/dangling-portal-user.xml")
        let expected = try Directory.importFile(good)
        let results = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<64 {
                group.addTask {
                    if i % 2 == 0 {
                        return (try? Directory.importFile(good)) == expected
                    }
                    let error = manifestError { _ = try Directory.importFile(bad) }
                    return error?.code == .danglingReference && error?.line == 5
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 64 && results.allSatisfy { $0 })
    }
}

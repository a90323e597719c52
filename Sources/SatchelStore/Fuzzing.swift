/// Entry points for the libFuzzer targets of Tools/Fuzz (issue #12). Not API: the names are
/// behind `@_spi(Fuzzing)` and may change with the harness.
@_spi(Fuzzing)
public enum PackFuzzing {
    /// Opens pack `name` in `directory` the way the store does (index checksum and tables, every
    /// entry inside the pack file), then reads every object the index lists three ways (payload
    /// with hash check, entry header, raw CRC-checked entry) and checks the pack's checksum.
    /// Returns how many listed objects read back intact; entries that fail a check are counted
    /// out. Damage to the index itself throws ``StoreError``.
    public static func readPack(directory: String, name: String) throws -> (listed: Int, intact: Int) {
        let pack = try PackFile(directory: directory, name: name)
        var intact = 0
        let entries = pack.index.allEntries
        for location in entries {
            do {
                _ = try pack.read(location.id) { _ in }
                _ = try pack.info(location.id)
                _ = try pack.rawEntry(location)
                intact += 1
            } catch is StoreError {
                continue
            }
        }
        do { try pack.verifyChecksum() } catch is StoreError {}
        return (entries.count, intact)
    }
}

extension ChangeLog {
    /// fsck's problems with the log (damaged header, records out of order, a sequence number
    /// at its maximum), for the change-log fuzz target.
    @_spi(Fuzzing)
    public func fuzzingProblems() -> [String] { check() }
}

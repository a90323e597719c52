import Foundation
#if SATCHEL_LIBFUZZER
import CFuzzDriver
#endif

/// The main program of the fuzz drivers (Tools/Fuzz/run.sh; docs/RELIABILITY.md, "Fuzzing").
///
/// Built by run.sh with `-sanitize=fuzzer,address` and SATCHEL_LIBFUZZER=1 (Package.swift then
/// defines the compilation condition SATCHEL_LIBFUZZER for this module), it hands the program's
/// arguments to libFuzzer's driver; `SATCHEL_FUZZ_TARGET` names the target. Built normally
/// (swift build), the same entry functions replay files:
///
///     <driver> <target> <file or directory>...   replay inputs, exit 1 on a finding
///     <driver> seeds <directory>                 write the seed corpora (fixtures/fuzz)
public enum FuzzDriver {
    public static func main(targets: [FuzzTarget], harness: @escaping @Sendable (FuzzTarget) throws -> any FuzzHarness) async {
        let arguments = CommandLine.arguments
        if arguments.count == 3 && arguments[1] == "seeds" {
            do {
                let counts = try FuzzSeeds.write(to: arguments[2])
                print(counts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
            } catch {
                fail("seeds: \(error)")
            }
            return
        }
        #if SATCHEL_LIBFUZZER
        guard let name = ProcessInfo.processInfo.environment["SATCHEL_FUZZ_TARGET"], let target = FuzzTarget(rawValue: name),
              targets.contains(target) else {
            fail("set SATCHEL_FUZZ_TARGET to one of \(targets.map(\.rawValue).joined(separator: ", "))")
        }
        await MainActor.run { runLibFuzzer(target, harness) }
        #else
        await replay(arguments, targets: targets, harness: harness)
        #endif
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data(("SatchelFuzz: " + message + "\n").utf8))
        exit(1)
    }

    static func replay(_ arguments: [String], targets: [FuzzTarget], harness make: (FuzzTarget) throws -> any FuzzHarness) async {
        guard arguments.count >= 3, let target = FuzzTarget(rawValue: arguments[1]), targets.contains(target) else {
            fail("usage: \(arguments.first ?? "SatchelFuzz") <\(targets.map(\.rawValue).joined(separator: "|"))> <file or directory>... | seeds <directory>")
        }
        let harness: any FuzzHarness
        do { harness = try make(target) } catch { fail("cannot set up \(target): \(error)") }
        var files: [String] = []
        for path in arguments.dropFirst(2) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { fail("no such file: \(path)") }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        var findings = 0
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            do { try await harness.runAsync(Array(data)) } catch {
                findings += 1
                print("FINDING \(file): \(error)")
            }
        }
        harness.tearDown()
        print("\(target): \(files.count) inputs, \(findings) findings")
        if findings > 0 { exit(1) }
    }
}

#if SATCHEL_LIBFUZZER
/// The harness of this process: libFuzzer calls back on the main thread.
@MainActor private var current: (any FuzzHarness)?

@MainActor
private func runLibFuzzer(_ target: FuzzTarget, _ make: (FuzzTarget) throws -> any FuzzHarness) {
    do { current = try make(target) } catch { FuzzDriver.fail("cannot set up \(target): \(error)") }
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        let input = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
        MainActor.assumeIsolated {
            do { try current?.run(input) } catch {
                FileHandle.standardError.write(Data("FINDING: \(error)\n".utf8))
                abort()  // libFuzzer saves the input as a crash
            }
        }
        return 0
    }
    current?.tearDown()
    exit(status)
}
#endif

// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

// Tools/Fuzz/run.sh sets SATCHEL_LIBFUZZER=1 for its sanitized build of the fuzz drivers: only
// SatchelFuzzKit then hands the arguments to libFuzzer (a -D for every module would rebuild them all).
let fuzzing = Context.environment["SATCHEL_LIBFUZZER"] == "1"
let libFuzzer: [SwiftSetting] = fuzzing ? [.define("SATCHEL_LIBFUZZER")] : []
// gold fails with an internal error (dwarf_reader.cc:2713) linking the instrumented drivers; lld links them.
let libFuzzerLinker: [LinkerSetting] = fuzzing ? [.unsafeFlags(["-use-ld=lld"])] : []

let package = Package(
    name: "Satchel",
    products: [
        // The engine, usable without the CLI (a portal server embeds it).
        .library(name: "Satchel", targets: ["SatchelStore", "SatchelManifest", "SatchelMessaging", "SatchelSync", "SatchelBackup"]),
        .executable(name: "satchel", targets: ["satchel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        // HTTP sync only (SatchelServer): the server, and SwiftNIO's HTTP/1 codec for the client.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1",
                 traits: ["FullFoundation"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // C shims: module maps plus tiny static inline wrappers, nothing else.
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),

        .target(name: "CSatchelSystem"),

        // Object store: content-addressed objects, packs, refs, locks, fsck, gc.
        .target(
            name: "SatchelStore",
            dependencies: [
                "CZlib",
                "CSatchelSystem",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict
        ),

        // XML manifests on libxml2: hardened parser, canonical writer, XSD, typed manifests.
        .target(
            name: "SatchelManifest",
            dependencies: ["CLibXML2", "SatchelStore", .product(name: "SystemPackage", package: "swift-system")],
            resources: [.copy("Schemas")],
            swiftSettings: strict
        ),

        // Messaging domain: directory, compose, drafts, threads, rules, notifications.
        .target(
            name: "SatchelMessaging",
            dependencies: [
                "SatchelStore", "SatchelManifest",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict
        ),

        // Sync: version vectors, merge, change log, bundles, reconcile.
        .target(
            name: "SatchelSync",
            dependencies: [
                "SatchelStore", "SatchelManifest", "SatchelMessaging",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict
        ),

        // HTTP sync: `satchel serve` (Hummingbird) and the client of `satchel sync URL`. The
        // engine above does not depend on it.
        .target(
            name: "SatchelServer",
            dependencies: [
                "SatchelStore", "SatchelManifest", "SatchelMessaging", "SatchelSync",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict
        ),

        // Backup: archives (full, incremental, encrypted), verify, restore under a new replica ID.
        .target(
            name: "SatchelBackup",
            dependencies: [
                "SatchelStore", "SatchelManifest", "SatchelMessaging",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict
        ),

        // The story end to end (`satchel demo`), as a library function.
        .target(
            name: "SatchelDemo",
            dependencies: ["SatchelStore", "SatchelManifest", "SatchelMessaging", "SatchelSync", "SatchelBackup"],
            swiftSettings: strict
        ),

        // Command-line front end (library so tests can drive it in-process too).
        .target(
            name: "SatchelCLI",
            dependencies: [
                "SatchelStore",
                "SatchelManifest",
                "SatchelMessaging",
                "SatchelSync",
                "SatchelServer",
                "SatchelBackup",
                "SatchelDemo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "satchel",
            dependencies: ["SatchelCLI"],
            swiftSettings: strict
        ),

        // Benchmarks and harnesses (not part of the product).
        .target(name: "BenchSupport", path: "Tools/BenchSupport", swiftSettings: strict),
        .executableTarget(
            name: "StoreBench",
            dependencies: ["BenchSupport", "SatchelStore"],
            path: "Tools/StoreBench",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "SyncBench",
            dependencies: ["BenchSupport", "SatchelSync", "SatchelMessaging", "SatchelStore", "SatchelManifest"],
            path: "Tools/SyncBench",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "ManifestBench",
            dependencies: ["SatchelManifest", "SatchelStore"],
            path: "Tools/ManifestBench",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "PipelineBench",
            dependencies: ["BenchSupport", "SatchelSync", "SatchelMessaging", "SatchelStore", "SatchelManifest"],
            path: "Tools/PipelineBench",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "MessagingBench",
            dependencies: ["BenchSupport", "SatchelMessaging"],
            path: "Tools/MessagingBench",
            swiftSettings: strict
        ),

        // Issue #12: SIGKILL and corruption campaigns against the real `satchel` binary.
        .executableTarget(
            name: "CrashCampaign",
            dependencies: ["SatchelStore"],
            path: "Tools/CrashCampaign",
            swiftSettings: strict
        ),
        // Sync verification: the shared harness (model, real-store world, explorer, simulator)
        // and its two tools.
        .target(
            name: "SyncCheckKit",
            dependencies: ["SatchelSync", "SatchelMessaging", "SatchelStore", "SatchelManifest", "SatchelBackup",
                           .product(name: "Crypto", package: "swift-crypto")],
            path: "Tools/SyncCheckKit",
            swiftSettings: strict
        ),
        .executableTarget(name: "SyncCheck", dependencies: ["SyncCheckKit"], path: "Tools/SyncCheck", swiftSettings: strict),
        .executableTarget(name: "SyncSim", dependencies: ["SyncCheckKit"], path: "Tools/SyncSim", swiftSettings: strict),

        .executableTarget(
            name: "BackupBench",
            dependencies: ["SatchelBackup", "SatchelMessaging", "SatchelManifest", "SatchelStore"],
            path: "Tools/BackupBench",
            swiftSettings: strict
        ),

        // Helpers shared by the test targets: temporary directories, file-tree snapshots, seeded
        // bytes and generator, paths in the source tree (fixtures/, docs/).
        .target(
            name: "SatchelTestSupport",
            dependencies: ["SatchelStore"],
            path: "Tests/SatchelTestSupport",
            swiftSettings: strict
        ),

        // Issue #12: libFuzzer targets. Tools/Fuzz/run.sh builds SatchelFuzz with
        // -sanitize=fuzzer,address and SATCHEL_LIBFUZZER into .build-fuzz; built normally it
        // replays files through the same entry functions (SatchelFuzzTests replays fixtures/fuzz).
        .target(name: "CFuzzDriver", path: "Tools/Fuzz/CFuzzDriver"),
        .target(
            name: "SatchelFuzzKit",
            dependencies: ["CFuzzDriver", "SatchelStore", "SatchelManifest", "SatchelMessaging", "SatchelSync", "SatchelBackup",
                           .product(name: "Crypto", package: "swift-crypto")],
            path: "Tools/Fuzz/Kit",
            swiftSettings: strict + libFuzzer
        ),
        .target(
            name: "SatchelFuzzHTTP",
            dependencies: ["SatchelFuzzKit", "SatchelServer", "SatchelSync", .product(name: "Logging", package: "swift-log")],
            path: "Tools/Fuzz/HTTP",
            swiftSettings: strict
        ),
        // Every target; and the targets without a server, which build without SwiftNIO.
        .executableTarget(name: "SatchelFuzz", dependencies: ["SatchelFuzzKit", "SatchelFuzzHTTP"], path: "Tools/Fuzz/Main",
                          swiftSettings: strict, linkerSettings: libFuzzerLinker),
        .executableTarget(name: "SatchelFuzzOffline", dependencies: ["SatchelFuzzKit"], path: "Tools/Fuzz/OfflineMain",
                          swiftSettings: strict, linkerSettings: libFuzzerLinker),

        .testTarget(
            name: "SatchelStoreTests",
            dependencies: [
                "SatchelStore", "SatchelTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SatchelManifestTests",
            dependencies: [
                "SatchelManifest", "SatchelTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SatchelMessagingTests",
            dependencies: ["SatchelMessaging", "SatchelStore", "SatchelManifest", "SatchelTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SatchelSyncTests",
            dependencies: [
                "SatchelSync", "SatchelMessaging", "SatchelStore", "SatchelManifest", "SyncCheckKit", "SatchelTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SatchelBackupTests",
            dependencies: ["SatchelBackup", "SatchelSync", "SatchelMessaging", "SatchelStore", "SatchelManifest",
                           "SatchelTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SatchelDemoTests",
            dependencies: ["SatchelDemo", "SatchelMessaging", "SatchelStore", "SatchelTestSupport"],
            swiftSettings: strict
        ),
        // Fault injection walks over every durable operation (issue #12).
        .testTarget(
            name: "SatchelReliabilityTests",
            dependencies: ["SatchelBackup", "SatchelSync", "SatchelMessaging", "SatchelStore", "SatchelManifest",
                           "SatchelTestSupport", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SatchelFuzzTests",
            dependencies: ["SatchelFuzzKit", "SatchelFuzzHTTP", "SatchelTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SatchelCLITests",
            dependencies: [
                "SatchelCLI", "SatchelServer", "SatchelSync", "SatchelMessaging", "SatchelStore", "SatchelManifest", "SatchelBackup", "satchel",
                "SatchelTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
    ]
)

// swift-tools-version: 6.1
//
// Heartbeat: a UDP heartbeat collector. The layout follows the agreed design: one module per
// layer (Protocol, ClientKit, Collector, the `heartbeat` CLI) and thin C shims only where Swift
// cannot reach (libcrypto's SHA-256 block function, sendmmsg/recvmmsg, malloc_trim, libpq, hiredis,
// libcurl for webhooks).
import PackageDescription

let package = Package(
    name: "heartbeat",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Protocol", targets: ["Protocol"]),
        .library(name: "ClientKit", targets: ["ClientKit"]),
        .library(name: "Collector", targets: ["Collector"]),
        .library(name: "Sidecar", targets: ["Sidecar"]),
        .executable(name: "heartbeat", targets: ["HeartbeatCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // Already in the build through Hummingbird; named so the sidecar can put a handler of its own
        // (connection limits, request timeouts) in each HTTP connection's pipeline.
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // C shims.
        .target(
            name: "CSHA256",
            linkerSettings: [.linkedLibrary("crypto")]
        ),
        .target(name: "CMmsg"),
        .target(name: "CMemory"),
        .target(name: "CThread"),
        .target(name: "CHTTP", linkerSettings: [.linkedLibrary("curl")]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CHiredis", providers: [.apt(["libhiredis-dev"])]),

        // Swift modules.
        .target(name: "Protocol", dependencies: ["CSHA256", "CMemory"]),
        .target(name: "ThreadSafety"),
        .target(name: "ClientKit", dependencies: ["Protocol", "CMmsg", "ThreadSafety"]),
        .target(
            name: "Collector",
            dependencies: [
                "Protocol", "CMmsg", "CMemory", "CThread", "CLibPQ", "CHiredis", "CSHA256", "CHTTP", "ThreadSafety",
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        .target(
            name: "Sidecar",
            dependencies: [
                "Collector", "Protocol", "ThreadSafety",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        .executableTarget(
            name: "HeartbeatCLI",
            dependencies: [
                "Protocol", "ClientKit", "Collector", "Sidecar",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        // A libFuzzer target for the datagram path (scripts/fuzz builds it with -sanitize=fuzzer;
        // a normal build makes a program that replays the inputs it is given).
        .executableTarget(name: "DatagramFuzzer", dependencies: ["Protocol"], path: "Fuzz/DatagramFuzzer"),

        // Tests: one target per module; CollectorTests talk to real PostgreSQL and Redis.
        // HeartbeatTestSupport holds helpers the test targets share (a UDP receiver, paths).
        .target(name: "HeartbeatTestSupport", dependencies: ["Protocol", "Collector"], path: "Tests/Support"),
        .testTarget(name: "ProtocolTests", dependencies: ["Protocol", "CSHA256", "HeartbeatTestSupport"]),
        .testTarget(name: "ClientKitTests", dependencies: ["ClientKit", "Protocol", "HeartbeatTestSupport"]),
        .testTarget(
            name: "CollectorTests",
            dependencies: ["Collector", "Protocol", "CSHA256", "HeartbeatTestSupport", .product(name: "Atomics", package: "swift-atomics")]),
        .testTarget(name: "SidecarTests", dependencies: ["Sidecar", "Collector", "Protocol", "HeartbeatTestSupport"]),
        .testTarget(name: "HeartbeatCLITests", dependencies: ["Protocol", "Collector", "HeartbeatTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

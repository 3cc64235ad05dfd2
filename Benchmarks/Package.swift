// swift-tools-version: 6.1
//
// Benchmarks live in their own package so that the main build and CI never compile the benchmark
// harness. Run them with:
//
//     cd Benchmarks && swift package --allow-writing-to-package-directory benchmark
//
import PackageDescription

let package = Package(
    name: "heartbeat-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "heartbeat", path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "ProtocolBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "Protocol", package: "heartbeat"),
            ],
            path: "ProtocolBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            name: "ClientKitBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "ClientKit", package: "heartbeat"),
                .product(name: "Protocol", package: "heartbeat"),
            ],
            path: "ClientKitBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            name: "MonitorBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "Collector", package: "heartbeat"),
            ],
            path: "MonitorBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)

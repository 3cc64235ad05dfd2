import Foundation
import Protocol

/// A small, seedable generator (SplitMix64) so that property tests can print the seed that broke
/// them and be replayed exactly.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A seed for a property test: `HEARTBEAT_TEST_SEED` when set (to replay a failure), else random.
func propertySeed() -> UInt64 {
    if let text = ProcessInfo.processInfo.environment["HEARTBEAT_TEST_SEED"], let seed = UInt64(text) {
        return seed
    }
    return UInt64.random(in: .min ... .max)
}

/// The repository's root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// Bytes of an even-length hex string (test input is trusted).
func bytes(hex: String) -> [UInt8] {
    var result = [UInt8]()
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        result.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return result
}

/// Lowercase hex of `bytes`.
func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

extension HeartbeatRecord {
    /// A random record, every field drawn from its whole range (sequence from 1).
    static func random(using generator: inout some RandomNumberGenerator) -> HeartbeatRecord {
        HeartbeatRecord(
            kind: RecordKind.allCases.randomElement(using: &generator)!,
            application: ApplicationUUID(high: generator.next(), low: generator.next()),
            instance: generator.next(),
            sequence: UInt64.random(in: 1 ... .max, using: &generator),
            sentAtMicros: Int64(bitPattern: generator.next()),
            intervalMillis: generator.next(),
            status: Int32(truncatingIfNeeded: generator.next() as UInt64),
            tag: RecordTag(high: generator.next(), low: generator.next()))
    }
}

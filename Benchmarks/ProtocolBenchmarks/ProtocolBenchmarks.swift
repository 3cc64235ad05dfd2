// Per-record costs of the Protocol module on the receive and send paths, with heap allocations.
// Every benchmark processes one record per scaled iteration, so the figures are per record.
import Benchmark
import Protocol

/// Distinct pre-encoded records each benchmark cycles through (far more than the caches hold of
/// the table, so lookups are not all cache hits).
private let recordsPerPass = 65_536
private let nowMicros: Int64 = 1_767_225_600_000_000

/// Registry, validator and pre-encoded datagram bytes shared by the benchmarks.
private struct Fixture: Sendable {
    let validator: RecordValidator
    let unsignedRecords: [UInt8]
    let signedRecords: [UInt8]
    let key: TagKey
    let template: HeartbeatRecord

    init(registeredApplications: Int) {
        var generator = SystemRandomNumberGenerator()
        let secret = ApplicationSecret.random()
        let descriptors = (0..<registeredApplications).map { index in
            ApplicationDescriptor(
                uuid: .random(using: &generator), applicationID: Int64(index + 1),
                secret: index.isMultiple(of: 2) ? secret : nil)
        }
        validator = RecordValidator(applications: ApplicationTable(descriptors))
        key = TagKey(secret: secret)
        func records(signed: Bool) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: recordsPerPass * WireFormat.recordSize)
            bytes.withUnsafeMutableBytes { buffer in
                for position in 0..<recordsPerPass {
                    // Even-numbered applications are the signed ones.
                    let index = Int.random(in: 0..<registeredApplications / 2, using: &generator) * 2 + (signed ? 0 : 1)
                    var record = HeartbeatRecord(
                        kind: .beat, application: descriptors[index].uuid, instance: UInt32(position),
                        sequence: 1, sentAtMicros: nowMicros, intervalMillis: 10_000)
                    record.encodeSigned(
                        with: signed ? TagKey(secret: secret) : nil,
                        to: buffer.baseAddress! + position * WireFormat.recordSize)
                }
            }
            return bytes
        }
        unsignedRecords = records(signed: false)
        signedRecords = records(signed: true)
        template = HeartbeatRecord(
            kind: .beat, application: descriptors[0].uuid, instance: 42, sequence: 1,
            sentAtMicros: nowMicros, intervalMillis: 10_000)
    }
}

/// Built once, on first use (Swift initialises globals lazily and thread-safely). 100,000
/// applications make an 8 MiB table, beyond the 2 MiB L2 cache of this machine's cores; 10,000
/// make a 512 KiB one that stays in L2.
private let fixture = Fixture(registeredApplications: 100_000)
private let smallFixture = Fixture(registeredApplications: 10_000)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        warmupIterations: 1,
        scalingFactor: .mega,
        maxDuration: .seconds(3),
        maxIterations: 20
    )
    // Build the registry and records before anything is measured.
    _ = fixture
    _ = smallFixture

    for (label, data) in [("100k apps", fixture), ("10k apps", smallFixture)] {
        Benchmark("decode+validate unsigned (\(label))") { benchmark in
            let validator = data.validator
            var accepted = 0
            data.unsignedRecords.withUnsafeBytes { records in
                var position = 0
                for _ in benchmark.scaledIterations {
                    if (try? validator.validate(records.baseAddress! + position * 64, nowMicros: nowMicros)) != nil {
                        accepted &+= 1
                    }
                    position = (position + 1) & (recordsPerPass - 1)
                }
            }
            precondition(accepted == benchmark.scaledIterations.count, "every record must be accepted")
            blackHole(accepted)
        }

        Benchmark("decode+verify signed (\(label))") { benchmark in
            let validator = data.validator
            var accepted = 0
            data.signedRecords.withUnsafeBytes { records in
                var position = 0
                for _ in benchmark.scaledIterations {
                    if (try? validator.validate(records.baseAddress! + position * 64, nowMicros: nowMicros)) != nil {
                        accepted &+= 1
                    }
                    position = (position + 1) & (recordsPerPass - 1)
                }
            }
            precondition(accepted == benchmark.scaledIterations.count, "every record must verify")
            blackHole(accepted)
        }
    }

    Benchmark("encode+sign") { benchmark in
        let key = fixture.key
        var record = fixture.template
        var output = [UInt8](repeating: 0, count: 64)
        output.withUnsafeMutableBytes { buffer in
            for _ in benchmark.scaledIterations {
                record.sequence &+= 1
                record.encodeSigned(with: key, to: buffer.baseAddress!)
            }
        }
        blackHole(output)
    }

    Benchmark("tag verify only (one key, in cache)") { benchmark in
        let key = fixture.key
        var verified = 0
        fixture.signedRecords.withUnsafeBytes { records in
            let record = records.baseAddress!
            for _ in benchmark.scaledIterations {
                if key.verifyTag(of: record) { verified &+= 1 }
            }
        }
        precondition(verified == benchmark.scaledIterations.count)
        blackHole(verified)
    }

    Benchmark("replay window admit (in order)") { benchmark in
        var window = ReplayWindow()
        var sequence: UInt64 = 0
        var admitted = 0
        for _ in benchmark.scaledIterations {
            sequence &+= 1
            if window.admit(sequence) { admitted &+= 1 }
        }
        precondition(admitted == benchmark.scaledIterations.count)
        blackHole(admitted)
    }
}

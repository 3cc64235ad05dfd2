import Foundation
import HeartbeatTestSupport
import Protocol
import Testing

/// `Spec/test-vectors.json`, as written by `Spec/tools/make_test_vectors.py`.
struct VectorFile: Decodable {
    struct Collector: Decodable {
        let now_us: String
        let allowed_skew_us: String
    }
    struct RegistryEntry: Decodable {
        let app: String
        let id: Int64
        let enabled: Bool
        let secret: String?
        let previous_secret: String?
    }
    struct Fields: Decodable {
        let kind: String
        let app: String
        let instance: UInt32
        let seq: String
        let sent_at: String
        let interval: UInt32
        let status: Int32
        let tag: String
    }
    struct Outcome: Decodable {
        let result: String
        let reason: String?
        let fields: Fields?
        let signed_with: String?
    }
    struct Vector: Decodable, CustomTestStringConvertible {
        let name: String
        let description: String
        let datagram: String
        let records: [Outcome]
        var testDescription: String { name }
    }
    let format: Int
    let collector: Collector
    let registry: [RegistryEntry]
    let vectors: [Vector]

    static let shared: VectorFile = {
        let url = repositoryRoot.appendingPathComponent("Spec/test-vectors.json")
        let data = try! Data(contentsOf: url)
        return try! JSONDecoder().decode(VectorFile.self, from: data)
    }()

    func secret(_ hex: String?) throws -> ApplicationSecret? {
        try hex.map { try ApplicationSecret(hex: $0) }
    }

    func applicationTable() throws -> ApplicationTable {
        try ApplicationTable(
            registry.map {
                ApplicationDescriptor(
                    uuid: try #require(ApplicationUUID($0.app)), applicationID: $0.id, isEnabled: $0.enabled,
                    secret: try secret($0.secret), previousSecret: try secret($0.previous_secret))
            })
    }
}

extension VectorFile.Fields {
    func record() throws -> HeartbeatRecord {
        let tagBytes = bytes(hex: tag)
        let tag = tagBytes.withUnsafeBytes {
            RecordTag(
                high: UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                low: UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
        return HeartbeatRecord(
            kind: try #require(RecordKind(name: kind)), application: try #require(ApplicationUUID(app)),
            instance: instance, sequence: try #require(UInt64(seq)),
            sentAtMicros: try #require(Int64(sent_at)), intervalMillis: interval, status: status, tag: tag)
    }
}

/// The outcome of one record, as the vector file names it.
enum Verdict: Equatable, CustomStringConvertible {
    case accepted(HeartbeatRecord)
    case rejected(String)

    var description: String {
        switch self {
        case .accepted(let record): "accepted \(record)"
        case .rejected(let reason): "rejected \(reason)"
        }
    }
}

/// Runs a datagram through the checks of Spec/protocol.md in order, with replay windows fresh for
/// this datagram: the same composition the collector's receivers make.
func process(datagram: [UInt8], validator: RecordValidator, nowMicros: Int64) -> [Verdict] {
    guard let count = WireFormat.recordCount(datagramLength: datagram.count) else {
        return [.rejected(RejectionReason.malformed.description)]
    }
    var windows: [ApplicationUUID: [UInt32: ReplayWindow]] = [:]
    return datagram.withUnsafeBytes { buffer in
        (0..<count).map { index in
            do throws(RejectionReason) {
                let validated = try validator.validate(
                    buffer.baseAddress! + index * WireFormat.recordSize, nowMicros: nowMicros)
                let record = validated.record
                var window = windows[record.application, default: [:]][record.instance, default: ReplayWindow()]
                guard window.admit(record.sequence) else { throw .replay }
                windows[record.application, default: [:]][record.instance] = window
                return .accepted(record)
            } catch {
                return .rejected(error.description)
            }
        }
    }
}

@Suite("Spec/test-vectors.json")
struct TestVectorTests {
    let file = VectorFile.shared

    @Test("the file has the vectors the spec promises")
    func coverage() throws {
        #expect(file.format == 1)
        #expect(file.vectors.count >= 24)
        let outcomes = file.vectors.flatMap(\.records)
        let reasons = Set(outcomes.compactMap(\.reason))
        for reason in ["malformed", "version", "unknown_app", "disabled", "auth", "stale", "replay"] {
            #expect(reasons.contains(reason), "no vector rejects a record as \(reason)")
        }
        let acceptedKinds = Set(outcomes.filter { $0.result == "accepted" }.compactMap(\.fields?.kind))
        #expect(acceptedKinds == Set(RecordKind.allCases.map(\.description)))
        #expect(outcomes.contains { $0.signed_with == "secret" })
        #expect(outcomes.contains { $0.signed_with == "previous_secret" })
        #expect(file.vectors.contains { $0.records.count == WireFormat.maximumRecordsPerDatagram })
    }

    @Test("decoding and validating gives the stated outcome", arguments: VectorFile.shared.vectors)
    func decode(vector: VectorFile.Vector) throws {
        let validator = RecordValidator(
            applications: try file.applicationTable(),
            allowedSkewMicros: try #require(Int64(file.collector.allowed_skew_us)))
        let verdicts = process(
            datagram: bytes(hex: vector.datagram), validator: validator,
            nowMicros: try #require(Int64(file.collector.now_us)))
        let expected = try vector.records.map { outcome -> Verdict in
            outcome.result == "accepted"
                ? .accepted(try #require(outcome.fields).record()) : .rejected(try #require(outcome.reason))
        }
        #expect(verdicts == expected)
    }

    @Test("encoding the stated fields gives the bytes", arguments: VectorFile.shared.vectors)
    func encode(vector: VectorFile.Vector) throws {
        let datagram = bytes(hex: vector.datagram)
        let registry = Dictionary(uniqueKeysWithValues: file.registry.map { ($0.app, $0) })
        for (index, outcome) in vector.records.enumerated() {
            guard let fields = outcome.fields else { continue }
            let expected = Array(datagram[index * 64..<(index + 1) * 64])
            var record = try fields.record()
            #expect(hex(record.encoded()) == hex(expected), "record \(index + 1)")
            if let signedWith = outcome.signed_with {
                let entry = try #require(registry[fields.app])
                let secretHex = try #require(signedWith == "secret" ? entry.secret : entry.previous_secret)
                let key = TagKey(secret: try ApplicationSecret(hex: secretHex))
                var signed = [UInt8](repeating: 0, count: 64)
                signed.withUnsafeMutableBytes { record.encodeSigned(with: key, to: $0.baseAddress!) }
                #expect(hex(signed) == hex(expected), "record \(index + 1) signed with the \(signedWith)")
            }
        }
    }

    @Test("the file is what the generator writes")
    func upToDate() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repositoryRoot.appendingPathComponent("Spec/tools/make_test_vectors.py").path, "--check"]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "Spec/test-vectors.json differs from make_test_vectors.py's output")
    }
}

import Collector
import Foundation
@testable import Sidecar
import Testing

/// Builds stored events for the JSON tests.
enum StoredEventFixture {
    static func make(received: Int64, sequence: Int64, kind: String) -> StoredEvent {
        StoredEvent(receivedAtMicros: received, sentAtMicros: received - 1_000, instance: 7, sequence: sequence, kind: kind, status: -3)
    }
}

/// The API's timestamps: RFC 3339 UTC with microseconds, computed without Calendar.
@Suite("API timestamps")
struct APIModelsTests {
    @Test("civil dates agree with Foundation's ISO 8601 formatter, across eras, leap days and negative times")
    func timestamps() {
        #expect(APIModels.timestamp(0) as? String == "1970-01-01T00:00:00.000000Z")
        #expect(APIModels.timestamp(951_782_400_000_001) as? String == "2000-02-29T00:00:00.000001Z")
        #expect(APIModels.timestamp(-1) as? String == "1969-12-31T23:59:59.999999Z")
        #expect(APIModels.timestamp(nil) is NSNull)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let seconds = Int64.random(in: -2_208_988_800...4_102_444_800, using: &generator)  // 1900 … 2100
            let fraction = Int64.random(in: 0..<1_000_000, using: &generator)
            let micros = seconds * 1_000_000 + fraction
            let text = APIModels.timestamp(micros) as? String ?? ""
            let expected = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))  // …Z, no fraction
            #expect(text.prefix(19) == expected.prefix(19), "\(micros)")
            #expect(text.hasSuffix(String(format: ".%06dZ", Int(fraction))), "\(micros)")
        }
    }
}

/// The hand-written events JSON is what JSONSerialization would write.
@Suite("API events JSON")
struct EventsJSONTests {
    @Test("encodeEvents equals the generic encoder's output, with and without a next page")
    func sameAsGeneric() throws {
        let events = (0..<3).map { index in
            StoredEventFixture.make(received: 1_764_470_000_000_000 + Int64(index), sequence: Int64(index), kind: ["beat", "fail", "stop"][index])
        }
        for next: Int64? in [nil, 1_764_470_000_000_000] {
            // What the generic encoder writes for the same content.
            let objects: [[String: Any]] = events.map { event in
                [
                    "received_at": APIModels.timestamp(event.receivedAtMicros), "sent_at": APIModels.timestamp(event.sentAtMicros),
                    "instance": event.instance, "seq": event.sequence, "kind": event.kind, "status": event.status,
                ]
            }
            let generic = APIModels.encode(["events": objects, "next_before": next.map { APIModels.timestamp($0) } ?? NSNull()])
            let direct = APIModels.encodeEvents(events, nextBefore: next)
            let parsedGeneric = try JSONSerialization.jsonObject(with: Data(generic)) as? NSDictionary
            let parsedDirect = try JSONSerialization.jsonObject(with: Data(direct)) as? NSDictionary
            #expect(parsedDirect != nil && parsedDirect == parsedGeneric, "\(String(decoding: direct, as: UTF8.self))")
        }
        #expect(String(decoding: APIModels.encodeEvents([], nextBefore: nil), as: UTF8.self) == #"{"events":[],"next_before":null}"#)
    }
}

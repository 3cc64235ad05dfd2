@testable import Collector
import Foundation
@testable import Sidecar
import Testing

/// The hand-written JSON of the live answers: what JSONSerialization reads back is what went in.
@Suite("Live answers' JSON")
struct LiveJSONTests {
    @Test("strings survive escaping", arguments: ["plain", "say \"hi\"\n\\ back", "tab\there\r", "\u{1}\u{1f}\u{7f}", "é 🫀 名前", ""])
    func strings(value: String) throws {
        var json = [UInt8]()
        json.append("[")
        LiveJSON.string(value, into: &json)
        json.append("]")
        let decoded = try JSONSerialization.jsonObject(with: Data(json)) as? [String]
        #expect(decoded == [value], "\(String(decoding: json, as: UTF8.self))")
        #expect(!json.contains { $0 < 0x20 }, "no raw control characters")
    }

    @Test("an application under a quorum carries its instances, counted and needed; others carry null; keys stay sorted")
    func instances() throws {
        let profile = ApplicationProfile(
            applicationID: 3, uuid: .random(), name: "web", intervalMillis: 60_000, graceMillis: 30_000, noise: NoiseSettings(minInstances: 3))
        func render(_ instances: LivenessView.InstanceCount?) throws -> (object: [String: Any], text: String) {
            var json = [UInt8]()
            let application = LiveApplication(
                profile: profile, status: .short, sinceMicros: 1, lastHeartbeatMicros: 2, nextDeadlineMicros: 3, lastRun: nil, instances: instances)
            LiveJSON.application(application, view: nil, into: &json)
            let text = String(decoding: json, as: UTF8.self)
            return (try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any], "\(text)"), text)
        }
        let short = try render(LivenessView.InstanceCount(counted: 2, needed: 3))
        let instances = try #require(short.object["instances"] as? [String: Int])
        #expect(instances == ["counted": 2, "needed": 3])
        #expect(short.object["min_instances"] as? Int == 3 && short.object["status"] as? String == "short")
        #expect(try render(nil).object["instances"] is NSNull)
        let topLevel = short.text.replacingOccurrences(of: #"{"counted":2,"needed":3}"#, with: "0")
        #expect(topLevel != short.text)
        let keys = topLevel.split(separator: ",").compactMap { part -> String? in
            guard part.hasPrefix("\""), let end = part.dropFirst().firstIndex(of: "\"") else { return nil }
            return String(part[part.index(after: part.startIndex)..<end])
        }
        #expect(keys.contains("instances") && keys == keys.sorted(), "\(keys)")
    }

    @Test("decimals", arguments: [Int64(0), 7, 10, 999, 1_000_000, -42, Int64.max, Int64.min])
    func decimals(value: Int64) {
        var json = [UInt8]()
        json.append(decimal: value)
        #expect(String(decoding: json, as: UTF8.self) == String(value))
    }
}

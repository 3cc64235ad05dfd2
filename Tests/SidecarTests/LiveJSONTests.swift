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

    @Test("decimals", arguments: [Int64(0), 7, 10, 999, 1_000_000, -42, Int64.max, Int64.min])
    func decimals(value: Int64) {
        var json = [UInt8]()
        json.append(decimal: value)
        #expect(String(decoding: json, as: UTF8.self) == String(value))
    }
}

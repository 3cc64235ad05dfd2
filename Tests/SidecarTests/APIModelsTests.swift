import Foundation
@testable import Sidecar
import Testing

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
